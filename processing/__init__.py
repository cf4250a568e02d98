"""Processors and feature extractors (Hub files: they import only each other, torch, numpy and transformers)."""

from .emotion_parsing import EMOTIONS, normalize_emotion, parse_emotion
from .feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor
from .processing_c2ser import C2SERProcessor

__all__ = ["C2SERProcessor", "EMOTIONS", "Emotion2VecSFeatureExtractor", "normalize_emotion", "parse_emotion"]
