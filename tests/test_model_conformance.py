"""The contracts transformers' common model tests check, on the tiny C2SER and a tiny Emotion2Vec-S (issue 27):
tuple outputs, fp32 towers under a half-precision build, reentrant checkpointing, hidden states on the graph, a quiet
base-model load from a head checkpoint. Generation from a cache is in test_generation_c2ser.py."""

import copy
import logging

import pytest
import torch
from transformers import AutoModel
from transformers.utils import logging as hf_logging

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.modeling import C2SERForConditionalGeneration, Emotion2VecSForSequenceClassification

from test_helpers import waves
from test_modeling_emotion2vec_s import tiny_config

FP32_TOWERS = C2SERForConditionalGeneration._keep_in_fp32_modules_strict


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=0)


def test_tuple_outputs_equal_the_dict_outputs(tester, model):
    inputs = tester.inputs([16000, 12000])
    labels = inputs["input_ids"].masked_fill(inputs["input_ids"] == tester.processor.speech_token_id, -100)
    with torch.no_grad():
        as_dict = model(**inputs, labels=labels)
        as_tuple = model(**inputs, labels=labels, return_dict=False)
    assert isinstance(as_tuple, tuple)
    assert torch.equal(as_tuple[0], as_dict.loss) and torch.equal(as_tuple[1], as_dict.logits)
    with torch.no_grad():
        base = model.model(**inputs, return_dict=False)
    assert isinstance(base, tuple) and base[0].shape[:2] == inputs["input_ids"].shape


def _towers_dtypes(model) -> dict:
    found = {}
    for name in FP32_TOWERS:
        dtypes = {p.dtype for p in getattr(model.model, name).parameters()}
        dtypes |= {b.dtype for b in getattr(model.model, name).buffers() if b.is_floating_point()}
        found[name] = dtypes
    return found


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_towers_are_built_fp32_under_a_half_precision_build(tester, dtype):
    """As transformers' common test: the named modules are created in fp32 by `__init__` itself, under a
    half-precision default dtype; the language model takes the requested dtype."""
    # a copy: the build records its dtype in the configuration, which the other tests share
    model = C2SERForConditionalGeneration._from_config(copy.deepcopy(tester.config), dtype=dtype)
    assert all(found == {torch.float32} for found in _towers_dtypes(model).values()), _towers_dtypes(model)
    assert model.model.language_model.embed_tokens.weight.dtype == dtype and model.lm_head.weight.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_loads_keep_the_towers_fp32_and_the_probabilities(tester, model, tmp_path, dtype):
    """From a saved folder at float16 / bfloat16: fp32 towers, and the emotion probabilities of the fp32 model within
    the tolerance of docs/fidelity.md#transformers-conventions."""
    model.save_pretrained(tmp_path)
    half = C2SERForConditionalGeneration.from_pretrained(tmp_path, dtype=dtype)
    assert all(found == {torch.float32} for found in _towers_dtypes(half).values()), _towers_dtypes(half)
    assert half.model.language_model.embed_tokens.weight.dtype == dtype
    inputs = tester.inputs([16000, 12000])
    candidates = tester.processor.emotion_candidates()
    reference = model.emotion_probabilities(*candidates, **inputs)
    found = half.emotion_probabilities(*candidates, **inputs)
    diff = (found.float() - reference).abs().max().item()
    print(f"emotion probabilities, {dtype} language model vs fp32: max abs diff = {diff:.2e}")
    assert diff <= 1e-3


def _gradients(model, loss_of, reentrant: bool) -> dict:
    model.zero_grad(set_to_none=True)
    model.activation_checkpointing_enable({"use_reentrant": reentrant})
    model.train()
    torch.manual_seed(0)
    loss_of(model).backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def _same_gradients(model, loss_of, label):
    plain = _gradients(model, loss_of, reentrant=False)
    reentrant = _gradients(model, loss_of, reentrant=True)
    assert plain.keys() == reentrant.keys() and len(plain) == sum(p.requires_grad for p in model.parameters())
    diff = max((plain[k] - reentrant[k]).abs().max().item() for k in plain)
    print(f"{label}: reentrant vs non-reentrant checkpointing, {len(plain)} gradients: max abs diff = {diff:.2e}")
    assert diff <= 1e-6


def test_reentrant_checkpointing_gives_the_gradients_of_non_reentrant_emotion2vec_s():
    torch.manual_seed(0)
    model = Emotion2VecSForSequenceClassification(tiny_config(alibi_scale_per_layer=False))
    x = torch.stack(waves(16000, 16000))
    _same_gradients(model, lambda m: m(x, labels=torch.tensor([1, 4])).loss, "Emotion2Vec-S classifier")


def test_reentrant_checkpointing_gives_the_gradients_of_non_reentrant_emotion2vec_s_pretraining():
    from c2ser_hf.modeling import Emotion2VecSForPreTraining
    from test_modeling_emotion2vec_s_pretraining import tiny_config as pretraining_config

    torch.manual_seed(0)
    model = Emotion2VecSForPreTraining(pretraining_config())
    model.reset_teacher()
    x = torch.stack(waves(16000, 16000))
    _same_gradients(model, lambda m: m(x).loss, "Emotion2Vec-S pretraining")


def test_reentrant_checkpointing_gives_the_gradients_of_non_reentrant_c2ser(tester):
    model = tester.model(seed=1)
    inputs = tester.processor(tester.clips([16000, 12000]), targets=["happy", "sad"])
    _same_gradients(model, lambda m: m(**inputs).loss, "C2SER")


def test_every_hidden_state_is_on_the_graph_of_the_output():
    """transformers' retain-grad check: `hidden_states[k].retain_grad()` gets a gradient from the output."""
    torch.manual_seed(0)
    model = Emotion2VecSForSequenceClassification(tiny_config()).train()
    output = model(torch.stack(waves(16000)), output_hidden_states=True)
    for hidden in output.hidden_states:
        hidden.retain_grad()
    output.logits.flatten()[0].backward()
    assert all(hidden.grad is not None for hidden in output.hidden_states)


def test_the_base_model_loads_quietly_from_a_head_checkpoint(model, tmp_path, capsys):
    model.save_pretrained(tmp_path)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    hf_logging.get_logger("transformers").addHandler(handler)
    try:
        AutoModel.from_pretrained(tmp_path)
    finally:
        hf_logging.get_logger("transformers").removeHandler(handler)
    said = capsys.readouterr().out + capsys.readouterr().err + "\n".join(r.getMessage() for r in records)
    assert "UNEXPECTED" not in said and "lm_head" not in said, said
