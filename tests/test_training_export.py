"""Training's export reads the peft model through peft's API, not its key names: the light and merged saves of a peft
C2SER hold the same tensors whatever the adapter is called, and the merged model gives the peft model's logits."""

import pytest
import torch
from peft import get_peft_model
from safetensors.torch import load_file

from c2ser_hf.modeling import C2SERForConditionalGeneration
from c2ser_hf.training.assembly import StartingPoint, lora_config
from c2ser_hf.training.export import save_trained

RECORD = {"source": "test", "dataset": "none", "steps": 1, "recipe": {"learning_rate": 1e-4}}


def _trained_peft_model(tester, adapter_name):
    model = get_peft_model(tester.model(seed=0), lora_config(["q_proj", "v_proj", "down_proj"], 8, 32, 0.1,
                                                             ["link", "projector"]), adapter_name=adapter_name)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():  # as if trained: LoRA B away from zero, the trained parts moved
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    return model.eval()


@pytest.fixture(scope="module")
def saves(tester, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    models = {}
    for adapter_name in ("default", "stage_two"):
        models[adapter_name] = _trained_peft_model(tester, adapter_name)
        for save_format in ("light", "merged"):
            start = StartingPoint(models[adapter_name], tester.processor, "base/language-model", "test")
            save_trained(models[adapter_name].state_dict(), models[adapter_name], start,
                         root / adapter_name / save_format, save_format, RECORD)
    return root, models


@pytest.mark.parametrize("save_format", ["light", "merged"])
def test_saves_do_not_depend_on_the_adapter_name(saves, save_format):
    root, _ = saves
    files = ["model.safetensors"] + (["adapter_model.safetensors"] if save_format == "light" else [])
    for name in files:
        default, named = (load_file(root / adapter / save_format / name) for adapter in ("default", "stage_two"))
        assert default.keys() == named.keys() and all(torch.equal(default[k], named[k]) for k in default), name
    if save_format == "light":
        trained = load_file(root / "default" / "light" / "model.safetensors")
        assert any(key.startswith("model.link.") for key in trained)
        assert not any(key.startswith("model.language_model.") for key in trained)


def test_the_merged_save_gives_the_peft_models_logits(tester, saves):
    root, models = saves
    merged = C2SERForConditionalGeneration.from_pretrained(root / "stage_two" / "merged")
    inputs = tester.inputs([16000, 12000])
    with torch.no_grad():
        expected, found = models["stage_two"](**inputs).logits, merged(**inputs).logits
    diff = (expected - found).abs().max().item()
    print(f"merged save vs the peft model: max abs diff = {diff:.2e}")
    assert diff <= 1e-4
