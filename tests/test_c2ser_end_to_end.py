"""A random tiny C2SER written by `c2ser-hf new`, driven as a user drives it: processor → generate → post_process."""

import shutil
import subprocess

import pytest
import torch
from transformers import AutoModelForMultimodalLM, AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.processing import EMOTIONS, C2SERProcessor

from audio_fixtures import speech, tone


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "tiny-c2ser"
    result = subprocess.run([shutil.which("c2ser-hf"), "new", "--out", str(out), "--size", "tiny", "--seed", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return [
        str(speech(root / "speech.wav", "I cannot believe we finally made it!")),
        str(tone(root / "stereo44k.wav", seconds=3.0, rate=44100, channels=2)),
        str(tone(root / "short.wav", seconds=0.6, seed=3)),
    ]


def test_batched_generation_equals_one_by_one_from_files(folder, audio):
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForMultimodalLM.from_pretrained(folder).eval()
    assert isinstance(processor, C2SERProcessor)
    settings = dict(max_new_tokens=6, num_beams=1, do_sample=False, repetition_penalty=1.0)
    batch = processor(audio, mode="implicit")
    with torch.no_grad():
        batched = model.generate(**batch, **settings)
    results = processor.post_process(batched)
    assert len(results) == 3 and all(r["emotion"] in (None, *EMOTIONS) for r in results)
    for i, path in enumerate(audio):
        alone = processor(path, mode="implicit")
        with torch.no_grad():
            single = model.generate(**alone, **settings)
        assert processor.post_process(single)[0]["text"] == results[i]["text"], path


def test_beam_search_default_generation_config_runs(folder, audio):
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForMultimodalLM.from_pretrained(folder).eval()
    with torch.no_grad():
        out = model.generate(**processor(audio[:2], mode="explicit"), max_new_tokens=4)
    assert model.generation_config.num_beams == 4 and out.shape[0] == 2


def test_processor_and_model_that_disagree_raise(folder, audio):
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForMultimodalLM.from_pretrained(folder).eval()
    mismatched = C2SERProcessor(tokenizer=processor.tokenizer, num_acoustic_tokens=3)
    with pytest.raises(ValueError, match="placeholder count per item"):
        model(**mismatched(audio[0]))
