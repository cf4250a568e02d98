"""Processors and feature extractors, imported on first use. The modules are Hub files: docs/architecture.md#hub-files
says what they import."""

from ..lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    ".processing_c2ser": ("C2SERProcessor",),
    ".feature_extraction_emotion2vec_s": ("Emotion2VecSFeatureExtractor",),
    ".emotion_parsing": ("EMOTIONS", "normalize_emotion", "parse_emotion"),
})
