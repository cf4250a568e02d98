"""Prefix-tree answer scoring (`modeling/continuation_scoring.py`) against the scoring it replaced
(`tests/helpers/reference_scoring.py`), on the tiny model; the answer-language restriction of the candidates."""

import pytest
import torch

from c2ser_hf.processing import C2SERProcessor
from reference_scoring import reference_probabilities, reference_scores


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=3)


@pytest.fixture(scope="module")
def inputs(tester):
    return tester.inputs([30000, 9000, 16000], seed=6)  # padded: three prefix lengths


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_tree_scores_equal_the_previous_scoring(tester, model, inputs, attention):
    model.set_attn_implementation({"text_config": attention})
    assert model.model.language_model.config._attn_implementation == attention
    try:
        emotions, candidates = tester.processor.emotion_candidates()
        scores = model.score_continuations(candidates, **inputs)
        expected = reference_scores(model, candidates, **inputs)
        probabilities = model.emotion_probabilities(emotions, candidates, **inputs)
        reference = reference_probabilities(model, emotions, candidates, **inputs)
    finally:
        model.set_attn_implementation({"text_config": "sdpa"})
    score_diff = (scores - expected).abs().max().item()
    diff = (probabilities - reference).abs().max().item()
    print(f"{attention}: tree vs previous scoring, {len(candidates)} candidates: log-likelihoods max abs diff "
          f"{score_diff:.2e} (magnitude {expected.abs().max().item():.1f}), probabilities {diff:.2e}")
    assert score_diff <= 1e-4 * expected.abs().max().item() and diff <= 1e-5


def test_all_candidates_run_in_one_forward_after_the_prefix(tester, model, inputs):
    calls = []
    hook = model.model.language_model.register_forward_hook(lambda module, args, kwargs, out: calls.append(
        kwargs["inputs_embeds"].shape), with_kwargs=True)
    try:
        model.emotion_probabilities(*tester.processor.emotion_candidates(), **inputs)
    finally:
        hook.remove()
    prefix, tree = calls
    assert prefix == (3, inputs["input_ids"].shape[1], model.config.text_config.hidden_size)
    distinct = {tuple(c[:k]) for c in tester.processor.emotion_candidates()[1] for k in range(1, len(c))}
    assert tree[:2] == (3, len(distinct))  # every distinct candidate prefix once; the closing end-of-text never runs


def test_answer_language_restricts_the_candidates(tester, model, inputs, tmp_path):
    processor = tester.processor
    both = processor.emotion_candidates()
    tokenizer = processor.tokenizer
    for language, is_language in (("en", str.isascii), ("zh", lambda text: not text.isascii())):
        emotions, candidates = processor.emotion_candidates(language)
        assert sorted(set(emotions)) == list(range(7))
        assert all(c in both[1] and is_language(tokenizer.decode(c[:-1])) for c in candidates)
        # the restricted probabilities are those of the same computation over that language's answers
        restricted = model.emotion_probabilities(emotions, candidates, **inputs)
        expected = reference_probabilities(model, emotions, candidates, **inputs)
        assert (restricted - expected).abs().max().item() <= 1e-5
    assert len(processor.emotion_candidates("en")[1]) + len(processor.emotion_candidates("zh")[1]) == len(both[1])

    with pytest.raises(ValueError, match="answer language 'fr'"):
        processor.emotion_candidates("fr")
    with pytest.raises(ValueError, match="answer_language must be one of"):
        C2SERProcessor(tokenizer=tokenizer, answer_language="english")
    saved = C2SERProcessor(tokenizer=tokenizer, answer_language="zh")
    saved.save_pretrained(tmp_path)
    loaded = C2SERProcessor.from_pretrained(tmp_path)
    assert loaded.answer_language == "zh" and loaded.emotion_candidates() == processor.emotion_candidates("zh")
