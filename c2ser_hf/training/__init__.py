"""Training C2SER with TRL (paper §III-C/D): stage 1 on explicit chain-of-thought targets, stage 2 mixing explicit and
implicit batches with a decaying explicit probability; LoRA on the language model, trained encoder and connector."""

from .arguments import C2SERDataArguments, C2SERModelArguments, C2SERTrainingConfig
from .assembly import StartingPoint, assemble_c2ser, load_starting_point
from .collator import CoTCollator, select_variant
from .data import load_training_data
from .export import save_trained, split_peft_state_dict
from .recipes import RECIPES, parse_recipe, recipe_path
from .schedule import SCHEDULES, choose_explicit, explicit_probability
from .trainer import C2SERTrainer

__all__ = [
    "C2SERDataArguments", "C2SERModelArguments", "C2SERTrainer", "C2SERTrainingConfig", "CoTCollator", "RECIPES",
    "SCHEDULES", "StartingPoint", "assemble_c2ser", "choose_explicit", "explicit_probability", "load_starting_point",
    "load_training_data", "parse_recipe", "recipe_path", "save_trained", "select_variant", "split_peft_state_dict",
]
