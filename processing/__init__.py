"""Processors and feature extractors (Hub files: they import only each other, torch, numpy and transformers).
Imported on first use."""

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "C2SERProcessor": ".processing_c2ser",
    "Emotion2VecSFeatureExtractor": ".feature_extraction_emotion2vec_s",
    "EMOTIONS": ".emotion_parsing",
    "normalize_emotion": ".emotion_parsing",
    "parse_emotion": ".emotion_parsing",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
