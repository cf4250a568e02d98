"""Light C2SER checkpoints: only what C2SER trained (encoders, connector, speech BOS/EOS) in `model.safetensors`, the
LoRA adapter in peft's format beside it, and the frozen language model's id in `config.base_model_name_or_path`.

Loading one takes the base model's own modules as the language model and merges the adapter into them
(docs/fidelity.md#lora). `merge_lora_weight` is the package's one LoRA merge formula: the checkpoint converter merges
with it too. The folder's files besides the trained weights are written here as well (`write_model_files`,
`write_adapter`), by the converter and the training save alike, so reader and writer agree on one layout.
"""

import json

import torch
from transformers import AutoModelForCausalLM, GenerationConfig
from transformers.dynamic_module_utils import custom_object_save
from transformers.modeling_utils import load_state_dict, safe_save_file
from transformers.utils import cached_file

from .auto_map import map_auto_model_to

ADAPTER_WEIGHTS, ADAPTER_CONFIG = "adapter_model.safetensors", "adapter_config.json"
# peft's adapter keys: `base_model.model.model.<module>.lora_{A,B}.weight` for a `*ForCausalLM` base
ADAPTER_PREFIX = "base_model.model.model."
LANGUAGE_MODEL_KEYS = ("model.language_model.", "lm_head.")


def merge_lora_weight(weight, lora_a, lora_b, scaling: float, dtype=None) -> torch.Tensor:
    """W + scaling · B @ A, computed in fp32, returned in `dtype` (default: W's) on W's device."""
    delta = scaling * (lora_b.float() @ lora_a.float())
    return (weight.float() + delta.to(weight.device)).to(dtype or weight.dtype)


@torch.no_grad()
def merge_lora(language_model, adapter: dict, scaling: float) -> int:
    """Merge a peft adapter state dict into `language_model` in place; returns the number of merged modules."""
    merged = 0
    for key, lora_a in adapter.items():
        if not key.endswith(".lora_A.weight"):
            continue
        layer = language_model.get_submodule(key[len(ADAPTER_PREFIX) : -len(".lora_A.weight")])
        layer.weight.copy_(merge_lora_weight(layer.weight, lora_a, adapter[key.replace(".lora_A.", ".lora_B.")], scaling))
        merged += 1
    return merged


def adapter_config(adapter: dict, base_model, lora_alpha: float, lora_dropout: float = 0.1) -> dict:
    """peft's adapter_config.json for an adapter state dict, so that peft loads the adapter as well."""
    rank = next(v.shape[0] for k, v in adapter.items() if k.endswith(".lora_A.weight"))
    modules = sorted({k.split(".lora_")[0].rsplit(".", 1)[1] for k in adapter})
    return {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": str(base_model), "r": rank,
        "lora_alpha": lora_alpha, "lora_dropout": lora_dropout, "target_modules": modules, "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True,
    }


def write_model_files(model, folder, llm_dtype) -> None:
    """What `save_pretrained` writes besides the weights: config (with `auto_map`), generation config, Hub files."""
    model.config.dtype = str(llm_dtype).removeprefix("torch.")
    model.config.architectures = [type(model).__name__]
    map_auto_model_to(model, type(model.model))
    if model._auto_class is not None:
        custom_object_save(model, folder, config=model.config)
    model.config.save_pretrained(folder)
    model.generation_config.save_pretrained(folder)


def write_adapter(adapter: dict, folder, base_model, lora_alpha: float, lora_dropout: float = 0.1) -> None:
    """A light folder's LoRA adapter in peft's layout: its weights and `adapter_config.json` naming the base model."""
    adapter = {k: v.detach().cpu().contiguous() for k, v in adapter.items()}
    safe_save_file(adapter, folder / ADAPTER_WEIGHTS, metadata={"format": "pt"})
    settings = adapter_config(adapter, base_model, lora_alpha, lora_dropout)
    (folder / ADAPTER_CONFIG).write_text(json.dumps(settings, indent=2))


def around_language_model(model_class, config, causal_lm):
    """A `model_class` whose language model and head are `causal_lm`'s own modules (no second copy of the language
    model is ever allocated); every other part is left on the meta device for the caller to load or initialise."""
    with torch.device("meta"):
        model = model_class(config)
    model.model.language_model, model.lm_head = causal_lm.model, causal_lm.lm_head
    return model


def load_light_checkpoint(model_class, path, config, dtype, hub: dict, merge_adapter: bool = True):
    """A `model_class` (C2SERForConditionalGeneration) from the light checkpoint at `path` (a folder or Hub id);
    `merge_adapter=False` leaves the language model as the base has it (to keep training the adapter with peft)."""
    dtype = None if dtype in (None, "auto") else dtype
    base = AutoModelForCausalLM.from_pretrained(config.base_model_name_or_path, dtype=dtype, **hub)
    model = around_language_model(model_class, config, base)
    # the trained parts run in fp32 whatever dtype they are stored in (docs/fidelity.md#precision); parts of the
    # language model that a fine-tuning trained fully (its head, say) replace the base's, in the base's dtype
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    trained = {k: v.to(dtypes[k]) if k.startswith(LANGUAGE_MODEL_KEYS) and k in dtypes else v.float()
               for k, v in load_state_dict(cached_file(path, "model.safetensors", **hub)).items()}
    missing, unexpected = model.load_state_dict(trained, strict=False, assign=True)
    left = [k for k in missing if not k.startswith(LANGUAGE_MODEL_KEYS)]
    if left or unexpected:
        raise ValueError(f"{path}: light checkpoint does not match the model: missing {left[:10]}, "
                         f"unexpected {unexpected[:10]}")
    if merge_adapter:
        settings = json.loads(open(cached_file(path, ADAPTER_CONFIG, **hub), encoding="utf-8").read())
        merge_lora(model.model.language_model, load_state_dict(cached_file(path, ADAPTER_WEIGHTS, **hub)),
                   settings["lora_alpha"] / settings["r"])
    generation = cached_file(path, "generation_config.json", _raise_exceptions_for_missing_entries=False, **hub)
    if generation:
        model.generation_config = GenerationConfig.from_pretrained(path, **hub)
    return model.eval()


__all__ = ["adapter_config", "around_language_model", "load_light_checkpoint", "merge_lora", "merge_lora_weight",
           "write_adapter", "write_model_files"]
