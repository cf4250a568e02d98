"""Integrated loudness in LUFS (ITU-R BS.1770-4) with pyloudnorm, the library the paper measured energy with
(§III-C step 1). torchaudio.functional.loudness is not used: its K-weighting filters clamp their output to ±1, which
lowers the loudness of loud speech (0.8 LU on noise bursts peaking near full scale)."""

import math
from functools import lru_cache

import numpy as np

GATE_BLOCK_SECONDS = 0.4
ABSOLUTE_GATE_LUFS = -70.0


@lru_cache(maxsize=None)
def _meter(sampling_rate: int, block_seconds: float):
    import pyloudnorm

    return pyloudnorm.Meter(sampling_rate, block_size=block_seconds)


def integrated_loudness(waveform: np.ndarray, sampling_rate: int) -> float | None:
    """Gated integrated loudness of a mono clip.

    BS.1770 measures 400 ms blocks, so it is undefined for a shorter clip; there the whole clip counts as the one
    block (its K-weighted mean square, through the same gates), which equals BS.1770 for a clip of exactly one
    block. Silence below the standard's absolute gate (−70 LUFS) has no loudness: None.
    """
    samples = np.asarray(waveform, dtype=np.float64)
    if samples.size == 0 or not np.any(samples):
        return None
    block = min(GATE_BLOCK_SECONDS, samples.size / sampling_rate)
    with np.errstate(divide="ignore"):
        value = float(_meter(sampling_rate, block).integrated_loudness(samples))
    return value if math.isfinite(value) and value >= ABSOLUTE_GATE_LUFS else None
