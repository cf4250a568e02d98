"""Conversion from FunASR and fairseq checkpoints, checked against FunASR's own emotion2vec implementation."""

import json

import numpy as np
import pytest
import torch

from c2ser_hf.checkpoint_io import UnsafeCheckpointError
from c2ser_hf.convert_emotion2vec import ConversionError, convert_emotion2vec
from c2ser_hf.modeling import Emotion2VecSForSequenceClassification, Emotion2VecSModel
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from funasr_emotion2vec import (
    BASE_MODEL_CONF,
    build_funasr_model,
    funasr_frame_features,
    save_fairseq,
    save_funasr,
    tiny_conf,
)


def frame_features(model_dir, waveform):
    model = Emotion2VecSModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        return model(torch.from_numpy(waveform)[None]).last_hidden_state[0].numpy()


@pytest.fixture(scope="module")
def base_reference(tmp_path_factory):
    """emotion2vec_base shapes, random weights; converted from both layouts."""
    root = tmp_path_factory.mktemp("base")
    reference = build_funasr_model(BASE_MODEL_CONF, seed=3)
    save_funasr(reference, root / "model.pt")
    save_fairseq(reference, BASE_MODEL_CONF, root / "checkpoint.pt")
    convert_emotion2vec(root / "model.pt", root / "from_funasr")
    convert_emotion2vec(root / "checkpoint.pt", root / "from_fairseq")
    waveform = np.random.default_rng(0).normal(0, 0.1, 3 * 16000 + 123).astype(np.float32)
    return root, reference, waveform


@pytest.mark.parametrize("layout", ["from_funasr", "from_fairseq"])
def test_parity_with_funasr_base_shapes(base_reference, layout):
    root, reference, waveform = base_reference
    expected = funasr_frame_features(reference, waveform)
    ours = frame_features(root / layout, waveform)
    diff = np.abs(ours - expected).max()
    print(f"{layout}: frame features {ours.shape}, max abs diff vs FunASR = {diff:.2e}")
    assert ours.shape == expected.shape == ((48123 - 400) // 320 + 1, 768)
    assert diff <= 1e-5


def test_converted_config_matches_the_architecture(base_reference):
    root, _, _ = base_reference
    config = json.loads((root / "from_fairseq" / "config.json").read_text())
    assert config["num_hidden_layers"] == 12 and config["num_prenet_layers"] == 4
    assert config["conv_stride"] == [5, 2, 2, 2, 2, 2, 2] and config["conv_kernel"] == [10, 3, 3, 3, 3, 2, 2]
    assert config["conv_pos_kernel_size"] == 19 and config["num_conv_pos_embedding_groups"] == 16
    assert config["num_extra_tokens"] == 10 and config["use_alibi"] and config["alibi_scale_per_head"]
    assert config["auto_map"]["AutoModel"].endswith("Emotion2VecSModel")
    # the fairseq task stored normalize=True; FunASR's model.pt carries no such flag
    assert Emotion2VecSFeatureExtractor.from_pretrained(root / "from_fairseq").do_normalize is True
    assert Emotion2VecSFeatureExtractor.from_pretrained(root / "from_funasr").do_normalize is False


def test_extra_tokens_and_negative_alibi_scale_match_funasr(tmp_path):
    """The learned-token outputs equal FunASR's with remove_extra_tokens=False; a negative scale is clamped."""
    conf = tiny_conf()
    reference = build_funasr_model(conf, seed=5)
    assert (reference.modality_encoders["AUDIO"].alibi_scale < 0).any()
    save_funasr(reference, tmp_path / "model.pt", wrap="state_dict")
    report = convert_emotion2vec(tmp_path / "model.pt", tmp_path / "out")
    assert report.source_format == "funasr[state_dict]"
    waveform = np.random.default_rng(1).normal(0, 0.1, 8000).astype(np.float32)
    with torch.no_grad():
        full = reference.extract_features(torch.from_numpy(waveform)[None], remove_extra_tokens=False)["x"][0]
        ours = Emotion2VecSModel.from_pretrained(tmp_path / "out").eval()(
            torch.from_numpy(waveform)[None], utterance_source="extra_tokens"
        )
    diff = (ours.utterance_features[0] - full[:10]).abs().max().item()
    print(f"extra tokens: max abs diff vs FunASR = {diff:.2e}")
    assert diff <= 1e-5


def test_plus_checkpoint_becomes_classifier_with_labels(tmp_path):
    labels = ["生气/angry", "厌恶/disgusted", "恐惧/fearful", "开心/happy", "中立/neutral"]
    reference = build_funasr_model(tiny_conf(), vocab_size=len(labels), seed=7)
    save_funasr(reference, tmp_path / "model.pt")
    (tmp_path / "tokens.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    report = convert_emotion2vec(tmp_path / "model.pt", tmp_path / "out")
    assert report.model_class == "Emotion2VecSForSequenceClassification" and report.labels == labels
    model = Emotion2VecSForSequenceClassification.from_pretrained(tmp_path / "out").eval()
    assert model.config.id2label[3] == "开心/happy"
    waveform = np.random.default_rng(2).normal(0, 0.1, 12000).astype(np.float32)
    with torch.no_grad():
        x = torch.from_numpy(waveform)[None]
        expected = reference.proj(reference.extract_features(x)["x"].mean(1))
        logits = model(x).logits
    diff = (logits - expected).abs().max().item()
    print(f"emotion2vec_plus head: logits max abs diff vs FunASR = {diff:.2e}")
    assert diff <= 1e-5


def test_decoder_is_dropped_and_reported(tmp_path):
    reference = build_funasr_model(tiny_conf(), seed=1, decoder=True)
    save_funasr(reference, tmp_path / "model.pt")
    report = convert_emotion2vec(tmp_path / "model.pt", tmp_path / "out")
    assert report.dropped and all(".decoder." in key for key in report.dropped)
    # keeping it needs one (tests/test_modeling_emotion2vec_s_pretraining.py converts one that has it)
    save_funasr(build_funasr_model(tiny_conf(), seed=1), tmp_path / "plain.pt")
    with pytest.raises(ConversionError, match="keep_decoder=True: the checkpoint holds no pretraining decoder"):
        convert_emotion2vec(tmp_path / "plain.pt", tmp_path / "kept", keep_decoder=True)
    assert not (tmp_path / "kept").exists()


def test_unknown_source_tensor_fails_naming_it(tmp_path):
    state = build_funasr_model(tiny_conf(), seed=1).state_dict()
    state["blocks.0.attn.qkv_renamed.weight"] = state.pop("blocks.0.attn.qkv.weight")
    torch.save(state, tmp_path / "model.pt")
    with pytest.raises(ConversionError, match="blocks.0.attn.qkv"):
        convert_emotion2vec(tmp_path / "model.pt", tmp_path / "out")
    assert not (tmp_path / "out").exists()

    state = build_funasr_model(tiny_conf(), seed=1).state_dict()
    state["modality_encoders.AUDIO.something_new"] = torch.zeros(3)
    torch.save(state, tmp_path / "model2.pt")
    with pytest.raises(ConversionError, match="something_new"):
        convert_emotion2vec(tmp_path / "model2.pt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_pickle_that_runs_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    torch.save({"model": {"x": torch.zeros(1)}, "cfg": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError, match=r"io\.open|builtins\.open"):
        convert_emotion2vec(tmp_path / "evil.pt", tmp_path / "out")
    assert not (tmp_path / "pwned").exists()
