"""C2SERProcessor against transformers' processor conventions, as far as they apply (issue 27): a save/load round
trip keeps every part, `model_input_names` names what `__call__` returns and the model takes. A chat template and
per-modality kwargs do not apply (docs/fidelity.md#transformers-conventions)."""

import inspect

import numpy as np
import pytest
from transformers import AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.modeling import C2SERForConditionalGeneration

SETTINGS = {"speech_token": "<|speech|>", "num_acoustic_tokens": 10, "downsample_rate": 4, "normalize_waveform": True,
            "max_mel_frames": 2000, "official_whisper_waveform": True, "answer_language": "en"}


def test_save_and_load_keep_every_part(tester, tmp_path):
    processor = type(tester.processor)(tester.processor.feature_extractor, tester.processor.tokenizer, **SETTINGS)
    processor.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is type(processor)
    assert {name: getattr(loaded, name) for name in SETTINGS} == SETTINGS
    assert loaded.feature_extractor.to_dict() == processor.feature_extractor.to_dict()
    assert loaded.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
    assert loaded.tokenizer.padding_side == "left" and loaded.speech_token_id == processor.speech_token_id
    clip = np.random.default_rng(0).normal(0, 0.1, 44100).astype(np.float32)
    before, after = processor(clip, sampling_rate=44100), loaded(clip, sampling_rate=44100)
    assert before.keys() == after.keys() and all((before[k] == after[k]).all() for k in before)


def test_model_input_names_are_what_it_returns_and_the_model_takes(tester):
    inputs = tester.inputs([16000, 9000])
    assert list(inputs.keys()) == tester.processor.model_input_names
    accepted = inspect.signature(C2SERForConditionalGeneration.forward).parameters
    assert all(name in accepted for name in tester.processor.model_input_names)


def test_no_chat_template_is_offered(tester):
    """The released model was trained on raw prompts: a chat template would change its input."""
    assert tester.processor.chat_template is None
    with pytest.raises(ValueError):
        tester.processor.apply_chat_template([{"role": "user", "content": "hello"}])
