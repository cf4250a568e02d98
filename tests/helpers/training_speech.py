"""The speech the training tests learn from: espeak-ng clips in English and Mandarin, emotions in words and prosody."""

import datasets

from audio_fixtures import speech

# (text, emotion, language, espeak pitch, espeak speed): short clips, emotions coded in words and prosody
UTTERANCES = [
    ("What a lovely day.", "happy", "en", 70, 190),
    ("I hate this so much!", "angry", "en", 40, 230),
    ("It is on the table.", "neutral", "en", 50, 160),
    ("I miss them a lot.", "sad", "en", 25, 110),
    ("Wow, you are here!", "surprised", "en", 90, 200),
    ("That smells awful.", "disgusted", "en", 35, 140),
    ("Someone is outside.", "fearful", "en", 60, 240),
    ("今天真开心。", "happy", "zh", 70, 190),
]


def write_speech_dataset(root, repeats: int = 2):
    """`repeats` × the utterances as espeak-ng clips in a `save_to_disk` dataset (audio, text, emotion, language,
    id)."""
    rows = []
    for copy in range(repeats):
        for i, (text, emotion, language, pitch, speed) in enumerate(UTTERANCES):
            path = root / f"{copy}-{i}.wav"
            speech(path, text, pitch=pitch + 3 * copy, speed=speed, voice="cmn" if language == "zh" else None)
            rows.append({"audio": str(path), "text": text, "emotion": emotion, "language": language,
                         "id": f"utt{copy}-{i}"})
    features = datasets.Features({"audio": datasets.Audio(), "text": datasets.Value("string"),
                                  "emotion": datasets.Value("string"), "language": datasets.Value("string"),
                                  "id": datasets.Value("string")})
    datasets.Dataset.from_list(rows, features=features).save_to_disk(str(root / "speech"))
    return root / "speech"
