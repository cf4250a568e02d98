"""`predict` with an explanation and scores does each clip's audio work once: one check and resampling per input, one
log-mel and one Emotion2Vec-S input per window, counted through a real run of the tiny model."""

from collections import Counter

import numpy as np
import pytest
from transformers import WhisperFeatureExtractor

from c2ser_hf.predict import predict
from c2ser_hf.processing import audio_input
from c2ser_hf.processing.feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor


@pytest.fixture
def counts(monkeypatch) -> Counter:
    """Calls of the audio work, counted by wrappers that delegate to the real functions."""
    counted = Counter()

    def counting(key, function, items=lambda *args, **kwargs: 1):
        def wrapper(*args, **kwargs):
            counted[key] += items(*args, **kwargs)
            return function(*args, **kwargs)
        return wrapper

    # every check of an input's samples (to_mono, whatever calls it) and every resampling
    monkeypatch.setattr(audio_input, "_check_samples", counting("checks", audio_input._check_samples))
    monkeypatch.setattr(audio_input, "resample", counting("resamplings", audio_input.resample))
    # one log-mel per waveform; Emotion2Vec-S's inputs: the waveforms it pads
    monkeypatch.setattr(WhisperFeatureExtractor, "__call__", counting("log_mels", WhisperFeatureExtractor.__call__))
    monkeypatch.setattr(Emotion2VecSFeatureExtractor, "pad", counting(
        "padded_waveforms", Emotion2VecSFeatureExtractor.pad, lambda self, inputs, **_: len(inputs["input_values"])))
    return counted


def test_explained_and_scored_clips_get_their_audio_features_once(tester, counts):
    model = tester.model(seed=1)
    rng = np.random.default_rng(0)
    # 1 s, and 35 s in two windows of 17.5 s, both at 22.05 kHz: two inputs, three windows
    clips = [rng.normal(0, 0.1, n).astype(np.float32) for n in (22050, 22050 * 35)]
    results = predict(model, tester.processor, clips, mode="explicit", scores=True, batch_size=8,
                      sampling_rate=22050, max_new_tokens=2, num_beams=1, do_sample=False)
    assert "text" in results[0] and "scores" in results[0] and len(results[1]["segments"]) == 2
    print(f"audio work of 2 inputs, 3 windows: {dict(counts)}")
    assert counts == {"checks": 2, "resamplings": 2, "log_mels": 3, "padded_waveforms": 3}
