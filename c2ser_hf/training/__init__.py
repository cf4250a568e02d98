"""Training C2SER with TRL (paper §III-C/D): stage 1 on explicit chain-of-thought targets, stage 2 mixing explicit and
implicit batches with a decaying explicit probability; LoRA on the language model, trained encoder and connector.

The names below load on first use, so the parts that need only peft (`assembly.lora_config`) import without TRL."""

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "C2SERDataArguments": ".arguments",
    "C2SERModelArguments": ".arguments",
    "C2SERTrainingConfig": ".arguments",
    "StartingPoint": ".assembly",
    "assemble_c2ser": ".assembly",
    "load_starting_point": ".assembly",
    "CoTCollator": ".collator",
    "select_variant": ".collator",
    "load_training_data": ".data",
    "save_trained": ".export",
    "split_peft_state_dict": ".export",
    "RECIPES": ".recipes",
    "parse_recipe": ".recipes",
    "recipe_path": ".recipes",
    "train_c2ser": ".run",
    "SCHEDULES": ".schedule",
    "choose_explicit": ".schedule",
    "explicit_probability": ".schedule",
    "C2SERTrainer": ".trainer",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
