"""Integrated loudness in LUFS (ITU-R BS.1770-4), as the paper measures energy with pyloudnorm (§III-C step 1)."""

import math

import numpy as np
import torch
import torchaudio.functional as F

GATE_BLOCK_SECONDS = 0.4
ABSOLUTE_GATE_LUFS = -70.0


def _k_weighted(waveform: torch.Tensor, sampling_rate: int) -> torch.Tensor:
    # BS.1770's two-stage K filter with the coefficients torchaudio.functional.loudness uses.
    weighted = F.treble_biquad(waveform, sampling_rate, 4.0, 1500.0, 1 / math.sqrt(2))
    return F.highpass_biquad(weighted, sampling_rate, 38.0, 0.5)


def integrated_loudness(waveform: np.ndarray, sampling_rate: int) -> float | None:
    """Gated integrated loudness of a mono clip, through torchaudio's BS.1770 implementation.

    BS.1770 measures 400 ms blocks, so it is undefined for a shorter clip; there the whole clip counts as the one
    block (its K-weighted mean square), which equals BS.1770 for a clip of exactly one block. Silence below the
    standard's absolute gate (−70 LUFS) has no loudness: None.
    """
    samples = torch.as_tensor(np.asarray(waveform, dtype=np.float32))[None]
    if samples.shape[-1] == 0:
        return None
    if samples.shape[-1] >= int(round(GATE_BLOCK_SECONDS * sampling_rate)):
        value = float(F.loudness(samples, sampling_rate))
    else:
        mean_square = float(_k_weighted(samples, sampling_rate).double().square().mean())
        value = -0.691 + 10 * math.log10(mean_square) if mean_square > 0 else -math.inf
    return value if math.isfinite(value) and value >= ABSOLUTE_GATE_LUFS else None
