"""Test-wide settings: no network; the helper modules in `tests/helpers/` importable by name
(`from audio_fixtures import speech`) and never collected as tests; the tiny C2SER's tester, built once."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HELPERS = Path(__file__).resolve().parent / "helpers"
sys.path.insert(0, str(HELPERS))
collect_ignore = [str(HELPERS)]


@pytest.fixture(scope="session")
def tester():
    """The tiny C2SER's configuration and processor (tests/helpers/c2ser_tester.py), shared by every test."""
    from c2ser_tester import C2SERModelTester

    return C2SERModelTester()
