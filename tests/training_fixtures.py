"""What the training tests start from: tiny pretrained parts in the layouts of their Hub repos, tiny C2SER folders
(merged and light), and a chain-of-thought dataset built by `build_cot` from espeak-ng speech."""

import subprocess

import datasets
import torch
from transformers import Qwen2ForCausalLM, WhisperForConditionalGeneration

from c2ser_hf.model_sizes import c2ser_config
from c2ser_hf.modeling import Emotion2VecSModel
from c2ser_hf.processing import Emotion2VecSFeatureExtractor
from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer

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


def write_parts(root):
    """Tiny `openai/whisper-medium`-, Emotion2Vec-S- and `Qwen/Qwen2-7B`-shaped folders under `root`."""
    torch.manual_seed(0)
    tokenizer = build_tiny_qwen2_tokenizer()
    config = c2ser_config("tiny", vocab_size=len(tokenizer), eos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    whisper = config.audio_config
    whisper.decoder_layers, whisper.decoder_attention_heads, whisper.decoder_ffn_dim = 1, 4, 64  # a small decoder
    WhisperForConditionalGeneration(whisper).save_pretrained(root / "whisper")
    Emotion2VecSModel(config.acoustic_config).save_pretrained(root / "emotion2vec")
    Emotion2VecSFeatureExtractor().save_pretrained(root / "emotion2vec")
    Qwen2ForCausalLM(config.text_config).save_pretrained(root / "qwen")
    tokenizer.save_pretrained(root / "qwen")
    return {"whisper": str(root / "whisper"), "emotion2vec": str(root / "emotion2vec"), "language_model": str(root / "qwen")}


def write_speech_dataset(root, repeats: int = 2):
    """`repeats` × the utterances as espeak-ng clips in a `save_to_disk` dataset (audio, text, emotion, language, id)."""
    rows = []
    for copy in range(repeats):
        for i, (text, emotion, language, pitch, speed) in enumerate(UTTERANCES):
            path = root / f"{copy}-{i}.wav"
            voice = ["-v", "cmn"] if language == "zh" else []
            subprocess.run(["espeak-ng", *voice, "-w", str(path), "-p", str(pitch + 3 * copy), "-s", str(speed), text],
                           check=True, capture_output=True)
            rows.append({"audio": str(path), "text": text, "emotion": emotion, "language": language,
                         "id": f"utt{copy}-{i}"})
    features = datasets.Features({"audio": datasets.Audio(), "text": datasets.Value("string"),
                                  "emotion": datasets.Value("string"), "language": datasets.Value("string"),
                                  "id": datasets.Value("string")})
    datasets.Dataset.from_list(rows, features=features).save_to_disk(str(root / "speech"))
    return root / "speech"
