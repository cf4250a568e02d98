"""Randomly initialised model folders (C2SER + processor, Emotion2Vec-S + feature extractor) for tests, demos and
benchmarks (`c2ser-hf new`)."""

import os
from pathlib import Path

import torch
from transformers import AutoTokenizer

from .option_error import option_error
from .model_sizes import c2ser_config, emotion2vec_s_config
from .modeling import C2SERForConditionalGeneration, Emotion2VecSModel
from .output_folder import atomic_output_dir, check_output_dir
from .processing import C2SERProcessor, Emotion2VecSFeatureExtractor
from .tiny_tokenizer import build_tiny_qwen2_tokenizer


def build_random_c2ser(size: str = "tiny", seed: int = 0, tokenizer=None):
    """(model, processor) with random weights. `tiny`/`small` train a small byte-level Qwen2 tokenizer offline;
    `full` needs the real Qwen2 tokenizer (a path or Hub id)."""
    if tokenizer is None:
        if size == "full":
            raise option_error(ValueError, "size 'full' needs the Qwen2 tokenizer: give {option} (a folder or Hub id)",
                               "tokenizer=", "--tokenizer")
        tokenizer = build_tiny_qwen2_tokenizer()
    elif isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    processor = C2SERProcessor(tokenizer=tokenizer)
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    vocab = None if size == "full" else len(tokenizer)
    config = c2ser_config(size, vocab_size=vocab, speech_token_id=processor.speech_token_id, eos_token_id=eos)
    if config.num_acoustic_tokens != processor.num_acoustic_tokens or config.downsample_rate != processor.downsample_rate:
        raise ValueError("model and processor disagree on the speech block length")
    torch.manual_seed(seed)
    return C2SERForConditionalGeneration(config).eval(), processor


def write_random_c2ser(out_dir, size: str = "tiny", seed: int = 0, tokenizer=None, overwrite: bool = False) -> None:
    inputs = [tokenizer] if isinstance(tokenizer, (str, os.PathLike)) else []
    check_output_dir(out_dir, overwrite, inputs)
    model, processor = build_random_c2ser(size, seed, tokenizer)
    with atomic_output_dir(out_dir, overwrite=overwrite, inputs=inputs) as staging:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)


def write_random_emotion2vec_s(out_dir, size: str = "tiny", seed: int = 0, overwrite: bool = False) -> None:
    check_output_dir(out_dir, overwrite)
    torch.manual_seed(seed)
    model = Emotion2VecSModel(emotion2vec_s_config(size)).eval()
    with atomic_output_dir(out_dir, overwrite=overwrite) as staging:
        model.save_pretrained(staging)
        Emotion2VecSFeatureExtractor().save_pretrained(staging)


def write_random_parts(out_dir, size: str = "tiny", seed: int = 0) -> dict[str, str]:
    """Randomly initialised pretrained parts of a C2SER of `size`, in the layouts of their Hub repos, for training
    tests and benchmarks: `whisper/` (a whole Whisper, like `openai/whisper-medium`), `emotion2vec/` (like a converted
    Emotion2Vec-S), `qwen/` (a Qwen2 causal LM with the small offline tokenizer, like `Qwen/Qwen2-7B`). Returns the
    three folders by the names training takes them (`whisper`, `emotion2vec`, `language_model`)."""
    from transformers import Qwen2ForCausalLM, WhisperForConditionalGeneration

    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    tokenizer = build_tiny_qwen2_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = c2ser_config(size, vocab_size=len(tokenizer), eos_token_id=eos)
    whisper = config.audio_config
    whisper.decoder_layers, whisper.decoder_attention_heads, whisper.decoder_ffn_dim = 1, 4, 64  # a small decoder
    WhisperForConditionalGeneration(whisper).save_pretrained(out_dir / "whisper")
    Emotion2VecSModel(config.acoustic_config).save_pretrained(out_dir / "emotion2vec")
    Emotion2VecSFeatureExtractor().save_pretrained(out_dir / "emotion2vec")
    Qwen2ForCausalLM(config.text_config).save_pretrained(out_dir / "qwen")
    tokenizer.save_pretrained(out_dir / "qwen")
    return {"whisper": str(out_dir / "whisper"), "emotion2vec": str(out_dir / "emotion2vec"),
            "language_model": str(out_dir / "qwen")}
