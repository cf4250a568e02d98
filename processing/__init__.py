"""Processors and feature extractors (Hub files: they import only each other, torch, numpy and transformers)."""

from .feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor

__all__ = ["Emotion2VecSFeatureExtractor"]
