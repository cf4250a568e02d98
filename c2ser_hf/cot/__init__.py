"""Chain-of-thought data construction (paper §III-C, §III-D): acoustic evidence → levels → grounded descriptions."""

from .acoustics import ATTRIBUTES, AcousticMeter, Acoustics
from .build import BuildError, BuildReport, build_cot
from .describers import EndpointDescriber, TransformersDescriber
from .descriptions import check_description, description_prompt, implicit_target, template_description
from .levels import LEVELS, AttributeStats, CorpusStats
from .loudness import integrated_loudness
from .phonemes import PhonemizeError, count_phonemes, detect_language
from .pitch import PITCH_ESTIMATORS, PitchTrack, mean_pitch, pitch_estimator

__all__ = [
    "ATTRIBUTES", "AcousticMeter", "Acoustics", "AttributeStats", "BuildError", "BuildReport", "CorpusStats",
    "EndpointDescriber", "LEVELS", "PITCH_ESTIMATORS", "PhonemizeError", "PitchTrack", "TransformersDescriber",
    "build_cot", "check_description", "count_phonemes", "description_prompt", "detect_language", "implicit_target",
    "integrated_loudness", "mean_pitch", "pitch_estimator", "template_description",
]
