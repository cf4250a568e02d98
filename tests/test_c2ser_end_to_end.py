"""A random tiny C2SER written as `c2ser-hf new` writes it, loaded and driven as a user drives it: processor →
generate → post_process, and emotion probabilities."""

import pytest
import torch
from transformers import AutoModelForMultimodalLM, AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.processing import EMOTIONS, C2SERProcessor

from audio_fixtures import speech, tone


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "tiny-c2ser"
    write_random_c2ser(out, size="tiny", seed=1)
    return out


@pytest.fixture(scope="module")
def processor(folder):
    return AutoProcessor.from_pretrained(folder)


@pytest.fixture(scope="module")
def model(folder):
    return AutoModelForMultimodalLM.from_pretrained(folder).eval()


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return [
        str(speech(root / "speech.wav", "I cannot believe we finally made it!")),
        str(tone(root / "stereo44k.wav", seconds=3.0, rate=44100, channels=2)),
        str(tone(root / "short.wav", seconds=0.6, seed=3)),
    ]


def test_batched_generation_equals_one_by_one_from_files(processor, model, audio):
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


def test_beam_search_default_generation_config_runs(processor, model, audio):
    with torch.no_grad():
        out = model.generate(**processor(audio[:2], mode="explicit"), max_new_tokens=4)
    assert model.generation_config.num_beams == 4 and out.shape[0] == 2


def test_processor_and_model_that_disagree_raise(processor, model, audio):
    mismatched = C2SERProcessor(tokenizer=processor.tokenizer, num_acoustic_tokens=3)
    with pytest.raises(ValueError, match="placeholder count per item"):
        model(**mismatched(audio[0]))


def test_emotion_probabilities_from_answer_likelihoods(processor, model, audio):
    emotions, candidates = processor.emotion_candidates()
    assert sorted(set(emotions)) == list(range(7)) and len(candidates) == len(emotions)
    # the English implicit answer for "happiness", ending with <|endoftext|>
    english = processor.tokenizer("The emotion of this speech is happiness.", add_special_tokens=False)["input_ids"]
    assert english + [processor.eos_token_id] in candidates
    inputs = processor(audio, mode="implicit")
    probabilities = model.emotion_probabilities(emotions, candidates, **inputs)
    assert probabilities.shape == (3, 7)
    assert torch.allclose(probabilities.sum(-1), torch.ones(3), atol=1e-5)

    # the definition: per emotion, log-sum-exp of its candidates' likelihoods, then a softmax
    scores = model.score_continuations(candidates, **inputs)
    owner = torch.tensor(emotions)
    expected = torch.stack([scores[:, owner == e].logsumexp(-1) for e in range(7)], -1).softmax(-1)
    assert torch.allclose(probabilities, expected, atol=1e-6)
    labelled = processor.label_scores(probabilities)
    assert list(labelled[0]) == list(EMOTIONS)

    # one-by-one equals batched
    alone = model.emotion_probabilities(emotions, candidates, **processor(audio[1], mode="implicit"))
    diff = (alone[0] - probabilities[1]).abs().max().item()
    print(f"emotion probabilities batched vs alone: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_shortest_audio_the_model_takes(processor, model):
    """The released model's acoustic tokens are the first 10 Emotion2Vec-S frames: 400 + 9 × 320 = 3280 samples."""
    import numpy as np

    clip = np.random.default_rng(0).normal(0, 0.1, 3280).astype(np.float32)
    with torch.no_grad():
        model(**processor(clip))
    with pytest.raises(ValueError, match="audio\\[0\\]: has 3279 samples .* minimum of 3280"):
        processor(clip[:-1])
