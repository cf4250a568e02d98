"""Registration of our classes with the transformers Auto classes and of our pipeline task."""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForAudioClassification,
    AutoModelForMultimodalLM,
    AutoModelForPreTraining,
    AutoProcessor,
)
from transformers.pipelines import PIPELINE_REGISTRY

from .modeling import (
    C2SERConfig,
    C2SERForConditionalGeneration,
    C2SERModel,
    Emotion2VecSConfig,
    Emotion2VecSForPreTraining,
    Emotion2VecSForSequenceClassification,
    Emotion2VecSModel,
)
from .pipeline import SpeechEmotionRecognitionPipeline
from .processing import C2SERProcessor, Emotion2VecSFeatureExtractor

PIPELINE_TASK = "speech-emotion-recognition"


def register_auto_classes() -> None:
    AutoConfig.register(Emotion2VecSConfig.model_type, Emotion2VecSConfig, exist_ok=True)
    AutoModel.register(Emotion2VecSConfig, Emotion2VecSModel, exist_ok=True)
    AutoModelForAudioClassification.register(Emotion2VecSConfig, Emotion2VecSForSequenceClassification, exist_ok=True)
    AutoModelForPreTraining.register(Emotion2VecSConfig, Emotion2VecSForPreTraining, exist_ok=True)
    AutoFeatureExtractor.register(Emotion2VecSConfig, Emotion2VecSFeatureExtractor, exist_ok=True)
    AutoConfig.register(C2SERConfig.model_type, C2SERConfig, exist_ok=True)
    AutoModel.register(C2SERConfig, C2SERModel, exist_ok=True)
    AutoModelForMultimodalLM.register(C2SERConfig, C2SERForConditionalGeneration, exist_ok=True)
    AutoProcessor.register(C2SERConfig, C2SERProcessor, exist_ok=True)
    if PIPELINE_TASK not in PIPELINE_REGISTRY.supported_tasks:
        PIPELINE_REGISTRY.register_pipeline(
            PIPELINE_TASK, pipeline_class=SpeechEmotionRecognitionPipeline, pt_model=AutoModelForMultimodalLM,
            type="multimodal",
        )

    # save_pretrained writes `auto_map` for registered classes and copies their Hub files beside the weights
    Emotion2VecSConfig.register_for_auto_class("AutoConfig")
    Emotion2VecSModel.register_for_auto_class("AutoModel")
    Emotion2VecSForSequenceClassification.register_for_auto_class("AutoModelForAudioClassification")
    Emotion2VecSForPreTraining.register_for_auto_class("AutoModelForPreTraining")
    Emotion2VecSFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
    C2SERConfig.register_for_auto_class("AutoConfig")
    C2SERModel.register_for_auto_class("AutoModel")
    C2SERForConditionalGeneration.register_for_auto_class("AutoModelForMultimodalLM")
    C2SERProcessor.register_for_auto_class("AutoProcessor")
