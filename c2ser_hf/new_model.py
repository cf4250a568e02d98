"""Randomly initialised model folders (C2SER + processor, Emotion2Vec-S + feature extractor) for tests, demos and
benchmarks (`c2ser-hf new`)."""

import os

import torch
from transformers import AutoTokenizer

from .checkpoint_io import atomic_output_dir, check_output_dir
from .option_error import option_error
from .model_sizes import c2ser_config, emotion2vec_s_config
from .modeling import C2SERForConditionalGeneration, Emotion2VecSModel
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
    check_output_dir(out_dir, overwrite)
    model, processor = build_random_c2ser(size, seed, tokenizer)
    with atomic_output_dir(out_dir, overwrite=overwrite) as staging:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)


def write_random_emotion2vec_s(out_dir, size: str = "tiny", seed: int = 0, overwrite: bool = False) -> None:
    check_output_dir(out_dir, overwrite)
    torch.manual_seed(seed)
    model = Emotion2VecSModel(emotion2vec_s_config(size)).eval()
    with atomic_output_dir(out_dir, overwrite=overwrite) as staging:
        model.save_pretrained(staging)
        Emotion2VecSFeatureExtractor().save_pretrained(staging)
