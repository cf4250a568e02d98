"""A trained peft C2SER as a model folder: light (the trained parts, the LoRA adapter and the base language model's
id, the layout `convert c2ser --light` writes) or merged (one self-contained model), with its processor, a training
record and a model card."""

import copy
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..output_folder import atomic_output_dir
from ..model_card import TRAINING_FILE, write_model_card
from ..modeling import C2SERForConditionalGeneration
from ..modeling.light_checkpoint import (
    ADAPTER_PREFIX, LANGUAGE_MODEL_KEYS, merge_lora, write_adapter, write_model_files,
)
from .save_format import NO_BASE_MODEL


def split_peft_state_dict(state_dict: dict, peft_model) -> tuple[dict, dict, set]:
    """The full state dict of `peft_model` (a peft C2SER) → (the C2SER state dict, with the trained copies of
    `modules_to_save` and the language model's own weights; the LoRA adapter with its keys relative to the base causal
    LM, as peft saves it; the keys of the fully trained modules).

    peft's own API tells the parts apart (`get_peft_model_state_dict`, its wrapper classes), never its key names: the
    C2SER keys are found by walking the model with each wrapper replaced by the module it stands for."""
    from peft import get_peft_model_state_dict
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import ModulesToSaveWrapper

    adapter_name = peft_model.active_adapter
    key_of = {id(tensor): key for key, tensor in peft_model.state_dict(keep_vars=True).items()}
    weights, trained = {}, set()

    def visit(module, prefix: str, is_trained: bool) -> None:
        if isinstance(module, ModulesToSaveWrapper):
            module, is_trained = module.modules_to_save[adapter_name], True
        elif isinstance(module, BaseTunerLayer):
            module = module.get_base_layer()
        for name, tensor in module.state_dict(keep_vars=True).items():
            if "." not in name:  # the module's own tensors; its children's come from visiting them
                weights[prefix + name] = state_dict[key_of[id(tensor)]]
                if is_trained:
                    trained.add(prefix + name)
        for name, child in module.named_children():
            visit(child, f"{prefix}{name}.", is_trained)

    model = peft_model.get_base_model()
    visit(model, "", False)
    # peft's adapter state holds the LoRA weights and the trained modules' copies: the copies are the C2SER's
    trained_tensors = {id(weights[key]) for key in trained}
    language_model = _path_in(peft_model, model.model.language_model) + "."
    adapter = {ADAPTER_PREFIX + key.removeprefix(language_model): tensor
               for key, tensor in get_peft_model_state_dict(peft_model, state_dict, adapter_name).items()
               if id(tensor) not in trained_tensors}
    return weights, adapter, trained


def _path_in(root, module) -> str:
    """The name of `module` inside `root`, as `named_modules` gives it."""
    return next(name for name, candidate in root.named_modules() if candidate is module)


def save_trained(state_dict: dict, peft_model, start, out, save_format: str, record: dict) -> None:
    """Write `out` (replacing an earlier save) from the full state dict of `peft_model`, trained from `start`
    (a `StartingPoint`); `record` (source, dataset, steps, recipe) is appended to the starting model's history."""
    weights, adapter, trained_keys = split_peft_state_dict(state_dict, peft_model)
    config = copy.deepcopy(peft_model.get_base_model().config)
    lora = peft_model.peft_config[peft_model.active_adapter]
    llm_dtype = weights["lm_head.weight"].dtype
    with atomic_output_dir(out, overwrite=True) as staging:
        if save_format == "light":
            if start.base_model is None:
                raise ValueError(f"{out}: {NO_BASE_MODEL}")
            config.base_model_name_or_path = start.base_model
            with torch.device("meta"):
                shell = C2SERForConditionalGeneration(config)
            # what the base language model does not hold: everything outside it, and its parts trained fully
            trained = {k: v.detach().cpu().contiguous() for k, v in weights.items()
                       if not k.startswith(LANGUAGE_MODEL_KEYS) or k in trained_keys}
            save_file(trained, staging / "model.safetensors", metadata={"format": "pt"})
            write_model_files(shell, staging, llm_dtype)
            write_adapter(adapter, staging, start.base_model, lora.lora_alpha, lora.lora_dropout)
        else:
            _merged(weights, adapter, config, lora.lora_alpha / lora.r).save_pretrained(staging)
        start.processor.save_pretrained(staging)
        history = {"stages": start.history + [record]}
        (staging / TRAINING_FILE).write_text(json.dumps(history, indent=2, ensure_ascii=False, default=str))
        write_model_card(staging, repo_id=Path(out).name)


def _merged(weights: dict, adapter: dict, config, scaling: float) -> C2SERForConditionalGeneration:
    """The self-contained model: the adapted weights are copied before the merge, the training model is untouched."""
    adapted = {"model.language_model." + key[len(ADAPTER_PREFIX):].rsplit(".lora_", 1)[0] + ".weight"
               for key in adapter}
    config.base_model_name_or_path = None
    with torch.device("meta"):
        model = C2SERForConditionalGeneration(config)
    weights = {k: (v.detach().to("cpu", copy=True) if k in adapted else v.detach().cpu()) for k, v in weights.items()}
    model.load_state_dict(weights, strict=True, assign=True)
    merge_lora(model.model.language_model, adapter, scaling)
    return model
