"""Training C2SER with TRL (paper §III-C/D): stage 1 on explicit chain-of-thought targets, stage 2 mixing explicit and
implicit batches with a decaying explicit probability; LoRA on the language model, trained encoder and connector.

The names below load on first use, so the parts that need only peft (`assembly.lora_config`) import without TRL."""

from ..lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    ".arguments": ("C2SERDataArguments", "C2SERModelArguments", "C2SERTrainingConfig"),
    ".assembly": ("StartingPoint", "assemble_c2ser", "load_starting_point"),
    ".collator": ("CoTCollator", "select_variant"),
    ".data": ("load_training_data",),
    ".export": ("save_trained", "split_peft_state_dict"),
    ".recipes": ("RECIPES", "parse_recipe", "recipe_path"),
    ".run": ("train_c2ser",),
    ".schedule": ("SCHEDULES", "choose_explicit", "explicit_probability"),
    ".trainer": ("C2SERTrainer",),
})
