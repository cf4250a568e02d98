"""Model classes (Hub files: they import only each other, torch, numpy and transformers)."""

from .configuration_emotion2vec_s import Emotion2VecSConfig
from .modeling_emotion2vec_s import (
    Emotion2VecSForSequenceClassification,
    Emotion2VecSModel,
    Emotion2VecSPreTrainedModel,
)

__all__ = [
    "Emotion2VecSConfig",
    "Emotion2VecSModel",
    "Emotion2VecSForSequenceClassification",
    "Emotion2VecSPreTrainedModel",
]
