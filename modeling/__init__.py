"""Model classes (Hub files: they import only each other, torch, numpy and transformers)."""

from .configuration_c2ser import C2SERConfig
from .configuration_emotion2vec_s import Emotion2VecSConfig
from .modeling_c2ser import C2SERForConditionalGeneration, C2SERModel, C2SERPreTrainedModel
from .modeling_c2ser_whisper import C2SERWhisperEncoder
from .modeling_emotion2vec_s import (
    Emotion2VecSForSequenceClassification,
    Emotion2VecSModel,
    Emotion2VecSPreTrainedModel,
)
from .modeling_emotion2vec_s_pretraining import Emotion2VecSForPreTraining

__all__ = [
    "C2SERConfig",
    "C2SERModel",
    "C2SERForConditionalGeneration",
    "C2SERPreTrainedModel",
    "C2SERWhisperEncoder",
    "Emotion2VecSConfig",
    "Emotion2VecSModel",
    "Emotion2VecSForSequenceClassification",
    "Emotion2VecSForPreTraining",
    "Emotion2VecSPreTrainedModel",
]
