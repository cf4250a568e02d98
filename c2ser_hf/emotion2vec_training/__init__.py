"""Emotion2Vec-S pretraining on the Hugging Face Trainer (`c2ser-hf pretrain-emotion2vec`)."""

from .acoustic_tower import replace_acoustic_tower
from .arguments import Emotion2VecPretrainingArguments, parse_recipe
from .data import PretrainingCollator, load_pretraining_dataset
from .ema import EMATeacherCallback, ema_decay
from .pretrain import load_pretraining_model, pretrain
from .trainer import Emotion2VecPretrainer

RECIPES = __path__[0] + "/recipes"

__all__ = [
    "EMATeacherCallback",
    "Emotion2VecPretrainer",
    "Emotion2VecPretrainingArguments",
    "PretrainingCollator",
    "RECIPES",
    "ema_decay",
    "load_pretraining_dataset",
    "load_pretraining_model",
    "parse_recipe",
    "pretrain",
    "replace_acoustic_tower",
]
