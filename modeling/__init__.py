"""Model classes (Hub files: they import only each other, torch, numpy and transformers). Imported on first use."""

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "C2SERConfig": ".configuration_c2ser",
    "C2SERLinkConfig": ".configuration_c2ser",
    "C2SERModel": ".modeling_c2ser",
    "C2SERForConditionalGeneration": ".modeling_c2ser",
    "C2SERPreTrainedModel": ".modeling_c2ser",
    "C2SERWhisperEncoder": ".modeling_c2ser_whisper",
    "Emotion2VecSConfig": ".configuration_emotion2vec_s",
    "Emotion2VecSModel": ".modeling_emotion2vec_s",
    "Emotion2VecSForSequenceClassification": ".modeling_emotion2vec_s",
    "Emotion2VecSPreTrainedModel": ".modeling_emotion2vec_s",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
