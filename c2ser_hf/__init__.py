"""c2ser-hf: C2SER speech emotion recognition for the Hugging Face ecosystem.

Importing this package registers its models with the transformers Auto classes, and marks them so that
`save_pretrained` writes `auto_map` and copies the Hub files (loading then works with `trust_remote_code=True`
where this package is not installed).
"""

from .registration import register_auto_classes
from .modeling import (
    C2SERConfig,
    C2SERForConditionalGeneration,
    C2SERModel,
    Emotion2VecSConfig,
    Emotion2VecSForPreTraining,
    Emotion2VecSForSequenceClassification,
    Emotion2VecSModel,
)
from .processing import C2SERProcessor, Emotion2VecSFeatureExtractor

register_auto_classes()

__version__ = "0.1.0"
__all__ = [
    "C2SERConfig",
    "C2SERModel",
    "C2SERForConditionalGeneration",
    "C2SERProcessor",
    "Emotion2VecSConfig",
    "Emotion2VecSModel",
    "Emotion2VecSForSequenceClassification",
    "Emotion2VecSForPreTraining",
    "Emotion2VecSFeatureExtractor",
]
