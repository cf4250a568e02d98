"""Model classes, imported on first use. The modules are Hub files: docs/architecture.md#hub-files says what they
import."""

from ..lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    ".configuration_c2ser": ("C2SERConfig", "C2SERLinkConfig"),
    ".modeling_c2ser": ("C2SERModel", "C2SERForConditionalGeneration", "C2SERPreTrainedModel"),
    ".modeling_c2ser_whisper": ("C2SERWhisperEncoder",),
    ".configuration_emotion2vec_s": ("Emotion2VecSConfig",),
    ".modeling_emotion2vec_s": ("Emotion2VecSModel", "Emotion2VecSForSequenceClassification",
                                "Emotion2VecSPreTrainedModel"),
    ".modeling_emotion2vec_s_pretraining": ("Emotion2VecSForPreTraining",),
})
