"""Registration of our classes with the transformers Auto classes."""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForAudioClassification

from .modeling import Emotion2VecSConfig, Emotion2VecSForSequenceClassification, Emotion2VecSModel
from .processing import Emotion2VecSFeatureExtractor


def register_auto_classes() -> None:
    AutoConfig.register(Emotion2VecSConfig.model_type, Emotion2VecSConfig, exist_ok=True)
    AutoModel.register(Emotion2VecSConfig, Emotion2VecSModel, exist_ok=True)
    AutoModelForAudioClassification.register(Emotion2VecSConfig, Emotion2VecSForSequenceClassification, exist_ok=True)
    AutoFeatureExtractor.register(Emotion2VecSConfig, Emotion2VecSFeatureExtractor, exist_ok=True)

    # save_pretrained writes `auto_map` for registered classes and copies their Hub files beside the weights
    Emotion2VecSConfig.register_for_auto_class("AutoConfig")
    Emotion2VecSModel.register_for_auto_class("AutoModel")
    Emotion2VecSForSequenceClassification.register_for_auto_class("AutoModelForAudioClassification")
    Emotion2VecSFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
