"""Emotion2Vec-S frames and waveform samples: its CNN's hop (total stride), its receptive field, and the samples a
number of frames needs, derived from a config's `conv_kernel` / `conv_stride`.

`Emotion2VecSConfig` derives its own values here; the processor, which holds no Emotion2Vec-S config, uses the released
CNN's. This file is a Hub file of both folders: `processing/emotion2vec_s_frames.py` is a link to it, so the formula
exists once.
"""

import math

# the released CNN (data2vec 2.0 base): 7 layers, the config's defaults
CONV_KERNEL = (10, 3, 3, 3, 3, 2, 2)
CONV_STRIDE = (5, 2, 2, 2, 2, 2, 2)


def _cnn(config):
    # a config without a waveform CNN (a spectrogram classifier) falls back to the released CNN's 25 ms floor
    return getattr(config, "conv_kernel", CONV_KERNEL), getattr(config, "conv_stride", CONV_STRIDE)


def frame_hop_samples(config=None) -> int:
    """Samples between two frames: the product of the strides (320 for the released CNN)."""
    return math.prod(_cnn(config)[1])


def receptive_field_samples(config=None) -> int:
    """Samples one frame sees: the fewest that give one frame (400 for the released CNN)."""
    field = 1
    for kernel, stride in zip(*map(reversed, _cnn(config))):
        field = (field - 1) * stride + kernel
    return field


def samples_for_frames(frames: int, config=None) -> int:
    """Fewest samples that give `frames` frames (at least one frame: the encoder makes nothing from less)."""
    return receptive_field_samples(config) + frame_hop_samples(config) * (max(frames, 1) - 1)


__all__ = ["CONV_KERNEL", "CONV_STRIDE", "frame_hop_samples", "receptive_field_samples", "samples_for_frames"]
