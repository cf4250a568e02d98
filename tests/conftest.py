"""Test-wide settings: no network; evaluate's caches in a temporary folder; the helper modules in `tests/helpers/`
importable by name (`from audio_fixtures import speech`) and never collected as tests; the tiny C2SER's tester,
built once; the training tests' pretrained parts and chain-of-thought dataset, built once."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# `evaluate.load(path)` copies the module under HF_MODULES_CACHE and writes its arrow files under HF_METRICS_CACHE
# (both default to the user's HF_HOME): keep both out of it, once for the whole run, before evaluate is imported.
_EVALUATE_HOME = tempfile.mkdtemp(prefix="c2ser-tests-evaluate-")
atexit.register(shutil.rmtree, _EVALUATE_HOME, ignore_errors=True)
os.environ.setdefault("HF_MODULES_CACHE", os.path.join(_EVALUATE_HOME, "modules"))
os.environ.setdefault("HF_METRICS_CACHE", os.path.join(_EVALUATE_HOME, "metrics"))

HELPERS = Path(__file__).resolve().parent / "helpers"
sys.path.insert(0, str(HELPERS))
collect_ignore = [str(HELPERS)]


@pytest.fixture(scope="session")
def tester():
    """The tiny C2SER's configuration and processor (tests/helpers/c2ser_tester.py), shared by every test."""
    from c2ser_tester import C2SERModelTester

    return C2SERModelTester()


@pytest.fixture(scope="session")
def training_parts(tmp_path_factory):
    """Tiny Whisper, Emotion2Vec-S and Qwen2 folders laid out like their Hub repos, for the training tests."""
    from c2ser_hf.new_model import write_random_parts

    return write_random_parts(tmp_path_factory.mktemp("parts"))


@pytest.fixture(scope="session")
def cot_dataset(tmp_path_factory):
    """A chain-of-thought dataset as `build-cot` writes it, from 16 espeak-ng clips in English and Mandarin."""
    from c2ser_hf.cot import build_cot
    from training_speech import write_speech_dataset

    root = tmp_path_factory.mktemp("cot")
    build_cot(str(write_speech_dataset(root)), root / "cot", shard_size=64, progress=False)
    return str(root / "cot")
