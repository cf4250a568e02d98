"""Processors and feature extractors (Hub files: they import only each other, torch, numpy and transformers).
Imported on first use."""

from ..lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    ".processing_c2ser": ("C2SERProcessor",),
    ".feature_extraction_emotion2vec_s": ("Emotion2VecSFeatureExtractor",),
    ".emotion_parsing": ("EMOTIONS", "normalize_emotion", "parse_emotion"),
})
