"""A small Emotion2Vec-S pretraining corpus: the training tests' espeak-ng utterances in several voices, labelled with
the 7 emotion names, as a `save_to_disk` dataset. About a quarter of each clip is digital silence (exact zeros)."""

import datasets

from audio_fixtures import speech
from training_speech import UTTERANCES

EMOTION_NAMES = {"happy": "happiness", "angry": "anger", "neutral": "neutral", "sad": "sadness",
                 "surprised": "surprise", "disgusted": "disgust", "fearful": "fear"}


def write_emotion_clips(root, voices: int = 5):
    """`voices` × 8 clips (40 by default) under `root`; returns the dataset folder."""
    rows = []
    for copy in range(voices):
        for i, (text, emotion, language, pitch, speed) in enumerate(UTTERANCES):
            path = speech(root / f"{copy}-{i}.wav", text, pitch=pitch + 3 * copy, speed=speed,
                          voice="cmn" if language == "zh" else None)
            rows.append({"audio": str(path), "emotion": EMOTION_NAMES[emotion]})
    datasets.Dataset.from_list(rows).cast_column("audio", datasets.Audio()).save_to_disk(str(root / "clips"))
    return root / "clips"
