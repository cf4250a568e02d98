"""EmoBox-style probing of frozen speech encoders (`c2ser-hf probe`)."""

from .features import FeatureCache, cache_features, frame_features
from .heads import HEADS, FrameHead, PooledHead
from .run import markdown_tables, probe

__all__ = [
    "HEADS",
    "FeatureCache",
    "FrameHead",
    "PooledHead",
    "cache_features",
    "frame_features",
    "markdown_tables",
    "probe",
]
