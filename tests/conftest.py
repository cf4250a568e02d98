"""Test-wide settings (no network, deterministic CPU threads) and the session fixtures of the training tests."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def training_parts(tmp_path_factory):
    """Tiny Whisper, Emotion2Vec-S and Qwen2 folders laid out like their Hub repos."""
    from c2ser_hf.new_model import write_random_parts

    return write_random_parts(tmp_path_factory.mktemp("parts"))


@pytest.fixture(scope="session")
def cot_dataset(tmp_path_factory):
    """A chain-of-thought dataset as `build-cot` writes it, from 16 espeak-ng clips in English and Mandarin."""
    from c2ser_hf.cot import build_cot
    from training_fixtures import write_speech_dataset

    root = tmp_path_factory.mktemp("cot")
    build_cot(str(write_speech_dataset(root)), root / "cot", shard_size=64, progress=False)
    return str(root / "cot")
