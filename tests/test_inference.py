"""`run_inference`, the one path from audio to answers and scores, on the tiny model."""

import numpy as np
import pytest
import torch

from c2ser_hf.inference import mean_scores, run_inference
from c2ser_hf.processing import EMOTIONS

GREEDY = dict(max_new_tokens=3, num_beams=1, do_sample=False)


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=1)


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    # 1 s, 35 s at 22.05 kHz (two windows of 17.5 s), NaN samples, 0.6 s
    return [rng.normal(0, 0.1, n).astype(np.float32) for n in (22050, 22050 * 35)] + [
        np.full(22050, np.nan, dtype=np.float32), rng.normal(0, 0.1, 13230).astype(np.float32)]


def test_windows_answers_and_scores_per_input(tester, model, clips):
    results = run_inference(model, tester.processor, clips, mode="implicit", scores=True, batch_size=2,
                            sampling_rate=22050, **GREEDY)
    assert [r["file"] for r in results] == [f"audio[{i}]" for i in range(4)]
    assert "NaN/Inf" in results[2]["error"] and "windows" not in results[2]
    assert [(w["start"], w["end"]) for w in results[1]["windows"]] == [(0.0, 17.5), (17.5, 35.0)]
    for result in (results[0], results[1], results[3]):
        for window in result["windows"]:
            assert list(window) == ["start", "end", "text", "emotion", "scores"]
            assert list(window["scores"]) == list(EMOTIONS) and abs(sum(window["scores"].values()) - 1) < 1e-5
            assert window["emotion"] == max(window["scores"], key=window["scores"].get)
    long = results[1]["windows"]
    assert mean_scores(long) == {e: (long[0]["scores"][e] + long[1]["scores"][e]) / 2 for e in EMOTIONS}

    # scores alone (no generation) are the same scores; one input alone gets what it gets in the batch
    (alone,) = run_inference(model, tester.processor, [clips[3]], mode=None, scores=True, sampling_rate=22050)
    assert list(alone["windows"][0]) == ["start", "end", "scores", "emotion"]
    diff = max(abs(alone["windows"][0]["scores"][e] - results[3]["windows"][0]["scores"][e]) for e in EMOTIONS)
    print(f"run_inference scores, alone vs in a batch of 2: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_generation_follows_the_mode_and_the_generate_arguments(tester, model, clips):
    inputs = tester.processor(clips[0], mode="explicit", sampling_rate=22050)
    with torch.no_grad():
        expected = tester.processor.post_process(model.generate(**inputs, **GREEDY))[0]
    (result,) = run_inference(model, tester.processor, [clips[0]], mode="explicit", sampling_rate=22050,
                              names=["clip"], **GREEDY)
    assert result["file"] == "clip" and len(result["windows"]) == 1
    assert {k: result["windows"][0][k] for k in ("text", "emotion")} == expected


def test_requests_that_cannot_run_are_refused(tester, model, clips):
    with pytest.raises(ValueError, match="nothing to do"):
        run_inference(model, tester.processor, clips[:1], mode=None)
    with pytest.raises(ValueError, match="names: 2 names for 1 inputs"):
        run_inference(model, tester.processor, clips[:1], names=["a", "b"])
    with pytest.raises(ValueError, match="batch_size"):
        run_inference(model, tester.processor, clips[:1], batch_size=0)
