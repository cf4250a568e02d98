"""The `speech-emotion-recognition` pipeline on a tiny random C2SER."""

import numpy as np
import pytest
from transformers import pipeline

import c2ser_hf  # noqa: F401  (registers the task)
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.processing import EMOTIONS

from audio_fixtures import speech


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipe") / "model"
    write_random_c2ser(folder, seed=4)
    return pipeline("speech-emotion-recognition", model=str(folder))


def test_scores_for_the_seven_emotions_best_first(classifier, tmp_path):
    path = speech(tmp_path / "clip.wav", "Why would you do that to me?")
    result = classifier(str(path))
    assert sorted(r["label"] for r in result) == sorted(EMOTIONS)
    scores = [r["score"] for r in result]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-5
    assert classifier(str(path), top_k=2) == result[:2]


def test_dataset_style_input_long_audio_and_batches(classifier):
    rng = np.random.default_rng(1)
    clip = rng.normal(0, 0.1, 44100).astype(np.float32)
    as_dict = classifier({"array": clip, "sampling_rate": 44100}, top_k=1)
    assert as_dict[0]["label"] in EMOTIONS
    long = classifier({"array": np.tile(clip, 40), "sampling_rate": 44100})  # 40 s: two windows, averaged
    assert abs(sum(r["score"] for r in long) - 1) < 1e-5
    batch = classifier([clip[:16000], clip[:24000]], top_k=1)
    assert len(batch) == 2 and all(len(r) == 1 for r in batch)


def test_explanation_on_request(classifier):
    clip = np.random.default_rng(2).normal(0, 0.1, 16000).astype(np.float32)
    result = classifier(clip, explain=True, max_new_tokens=4, num_beams=1, do_sample=False)
    assert set(result) == {"scores", "explanation"} and isinstance(result["explanation"], str)
    assert len(result["scores"]) == 7


def test_bad_input_is_named(classifier):
    with pytest.raises(ValueError, match="audio: contains 100 NaN/Inf samples"):
        classifier(np.full(100, np.nan, dtype=np.float32))


def test_batches_of_windows_give_the_results_of_one_by_one(classifier):
    """8 clips of different lengths (one over 30 s: two windows): `batch_size=4` equals `batch_size=1`, with the
    processing in `preprocess` and the model called once per batch of windows."""
    rng = np.random.default_rng(3)
    clips = [rng.normal(0, 0.1, n).astype(np.float32) for n in (16000, 9000, 30000, 12500, 520000, 4000, 20000, 7000)]
    first = next(iter(classifier.preprocess(clips[0])))
    assert {"input_ids", "input_features", "input_values"} <= set(first)
    calls = []
    hook = classifier.model.model.acoustic_tower.register_forward_hook(lambda *_: calls.append(1))
    try:
        batched = classifier(clips, batch_size=4)
        batches = len(calls)
        alone = classifier(clips, batch_size=1)
    finally:
        hook.remove()
    assert batches == 3  # 9 windows in batches of 4
    diff = 0.0
    for found, expected in zip(batched, alone):
        assert [r["label"] for r in found] == [r["label"] for r in expected]
        diff = max(diff, max(abs(a["score"] - b["score"]) for a, b in zip(found, expected)))
    print(f"pipeline batch_size=4 vs 1, 8 clips: max abs diff of the probabilities = {diff:.2e}")
    assert diff <= 1e-6
