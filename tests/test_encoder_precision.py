"""Speed options of the speech encoders (`modeling/encoder_precision.py`, `compile_encoders`) and of loading
(`load_c2ser(quantization=...)`), on the tiny model and a CPU: what runs here is checked against fp32, what needs CUDA
is refused in one line."""

import pytest
import torch

from c2ser_hf.cli import main
from c2ser_hf.model_loading import ModelInputError, load_c2ser
from c2ser_hf.new_model import write_random_c2ser


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=4)


def probabilities(model, processor, inputs):
    return model.emotion_probabilities(*processor.emotion_candidates(), **inputs)


def test_precisions_against_fp32(tester, model):
    inputs = tester.inputs([30000, 9000, 16000], seed=7)
    reference = probabilities(model, tester.processor, inputs)
    try:
        for precision, bound in (("tf32", 0.0), ("bf16", 1e-2)):  # tf32: CUDA only, fp32 here
            model.set_encoder_precision(precision)
            diff = (probabilities(model, tester.processor, inputs) - reference).abs().max().item()
            print(f"encoders in {precision} on a CPU: emotion probabilities max abs diff vs fp32 {diff:.2e}")
            assert diff <= bound
            assert model.model.encoder_precision == precision
        # bf16 really ran: the speech rows differ from fp32's
        speech = model.model.get_speech_embeddings(*(inputs[k] for k in (
            "input_features", "feature_attention_mask", "input_values", "input_values_mask")))[0]
        model.set_encoder_precision("fp32")
        exact = model.model.get_speech_embeddings(*(inputs[k] for k in (
            "input_features", "feature_attention_mask", "input_values", "input_values_mask")))[0]
        assert speech.dtype == exact.dtype == torch.float32 and 0 < (speech - exact).abs().max().item() < 0.05
    finally:
        model.set_encoder_precision("fp32")
    with pytest.raises(ValueError, match="encoder precision must be one of"):
        model.set_encoder_precision("fp8")


def test_compiled_encoders_give_the_same_probabilities(tester):
    compiled = tester.model(seed=4)
    inputs = tester.inputs([12000, 20000], seed=8)
    reference = probabilities(compiled, tester.processor, inputs)
    compiled.compile_encoders(backend="eager")  # graph capture without a C++ toolchain; the bench times inductor
    diff = (probabilities(compiled, tester.processor, inputs) - reference).abs().max().item()
    print(f"compiled encoders: emotion probabilities max abs diff {diff:.2e}")
    assert diff <= 1e-6


def test_quantized_loading_needs_cuda(tmp_path, capsys):
    write_random_c2ser(tmp_path / "tiny")
    with pytest.raises(ModelInputError, match="4bit loading \\(bitsandbytes\\) needs a CUDA GPU; this machine has none"):
        load_c2ser(tmp_path / "tiny", quantization="4bit", command="predict")
    assert main(["predict", "a.wav", "--model", str(tmp_path / "tiny"), "--quantize", "8bit"]) == 2
    assert "c2ser-hf predict: error: predict: 8bit loading (bitsandbytes) needs a CUDA GPU" in capsys.readouterr().err
    model, _ = load_c2ser(tmp_path / "tiny", encoder_precision="bf16")
    assert model.model.encoder_precision == "bf16"
