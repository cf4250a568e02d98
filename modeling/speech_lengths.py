"""Lengths along C2SER's speech path: mel frames → Whisper frames → downsampled frames → speech block.

The processor writes as many speech placeholders as the model puts rows in their place, so both call
`speech_block_lengths` (docs/fidelity.md#sequence-layout). This file is a Hub file of both folders:
`processing/speech_lengths.py` is a link to it, so the formula exists once.
Every function takes an int, a list, a numpy array or an integer torch tensor, and returns the same kind (lists come
back as numpy arrays).
"""

import numpy as np


def _ceil_div(numerator, denominator):
    # floor division of the negation: exact for ints, numpy and torch integer tensors alike
    return -(-numerator // denominator)


def _as_array(lengths):
    return np.asarray(lengths) if isinstance(lengths, (list, tuple)) else lengths


def encoder_lengths(mel_lengths):
    """Whisper frames per item: conv2 (kernel 3, stride 2, padding 1) turns T_mel frames into ceil(T_mel / 2)."""
    return _ceil_div(_as_array(mel_lengths), 2)


def downsampled_lengths(encoder_frames, downsample_rate: int):
    """Frames after the causal downsampler: each stride-2 convolution of a left-padded input gives ceil(T / 2)."""
    return _ceil_div(_as_array(encoder_frames), downsample_rate)


def speech_block_lengths(mel_lengths, num_acoustic_tokens: int, downsample_rate: int):
    """Rows of each item's speech block, [speech-BOS] acoustic tokens, downsampled Whisper frames [speech-EOS]:
    2 + num_acoustic_tokens + ceil(ceil(T_mel / 2) / downsample_rate)."""
    return 2 + num_acoustic_tokens + downsampled_lengths(encoder_lengths(mel_lengths), downsample_rate)


__all__ = ["downsampled_lengths", "encoder_lengths", "speech_block_lengths"]
