"""The waveform the released C2SER's Whisper branch reads (docs/fidelity.md#resampling).

The official inference resamples with `torchaudio.transforms.Resample`, whose sinc kernel is built in float64 and
then cast to float32, and writes and re-reads the result as a 16-bit PCM WAV before computing its log-mel. Its
Emotion2Vec-S branch resamples the decoded samples with `torchaudio.functional.resample` (kernel built in float32) and
never quantises. Both Whisper-branch steps are written here with torch, as torchaudio computes them, so that this
Hub file runs where torchaudio is absent; the tests compare them with torchaudio itself.
"""

import math

import numpy as np
import torch

from .audio_input import check_length, resample, to_mono

# torchaudio's defaults, which the official code keeps
LOWPASS_FILTER_WIDTH, ROLLOFF = 6, 0.99
PCM16_SCALE = 2**15


def transforms_resample_kernel(orig_freq: int, new_freq: int) -> tuple[torch.Tensor, int]:
    """(kernel (new, 1, taps) float32, width) of the Hann-windowed sinc that `transforms.Resample(orig, new)` builds:
    positions in float64 except the output-phase term, which torchaudio divides in float32; cast at the end."""
    gcd = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // gcd, new_freq // gcd
    base = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / base)
    positions = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float32)[:, None, None] / new + positions
    t = (t * base).clamp(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = torch.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t = t * math.pi
    kernel = torch.where(t == 0, torch.ones((), dtype=t.dtype), t.sin() / t) * (window * (base / orig))
    return kernel.to(torch.float32), width


def transforms_resample(samples: np.ndarray, orig_freq: int, new_freq: int) -> np.ndarray:
    """`torchaudio.transforms.Resample(orig_freq, new_freq)` with its defaults, applied to mono float32 samples."""
    if orig_freq == new_freq:
        return samples
    kernel, width = transforms_resample_kernel(orig_freq, new_freq)
    stride = orig_freq // math.gcd(orig_freq, new_freq)
    padded = torch.nn.functional.pad(torch.from_numpy(samples)[None, None], (width, width + stride))
    resampled = torch.nn.functional.conv1d(padded, kernel, stride=stride).transpose(1, 2).reshape(-1)
    return resampled[: math.ceil(new_freq * len(samples) / orig_freq)].numpy()


def pcm16_round_trip(samples: np.ndarray) -> np.ndarray:
    """Samples as a 16-bit PCM WAV written and read back stores them: scaled by 2^15, rounded half to even, clipped
    to the int16 range, scaled back."""
    quantised = np.clip(np.round(samples * np.float32(PCM16_SCALE)), -PCM16_SCALE, PCM16_SCALE - 1)
    return (quantised / np.float32(PCM16_SCALE)).astype(np.float32)


def official_whisper_waveform(samples: np.ndarray, sampling_rate: int, target_rate: int = 16000) -> np.ndarray:
    """The official Whisper-branch waveform from mono float32 samples at their own rate (the identity resampling
    at `target_rate` leaves only the 16-bit round trip, which already-quantised audio passes unchanged)."""
    return pcm16_round_trip(transforms_resample(samples, int(sampling_rate), target_rate))


def official_speech_waveforms(
    audio, sampling_rate: int | None = None, name: str = "audio[0]", target_rate: int = 16000, min_samples: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(Emotion2Vec-S waveform, Whisper waveform) of one audio input at `target_rate`, as the official inference
    makes them from the same decoded samples (input forms and errors as `to_mono_16k`)."""
    samples, rate = to_mono(audio, sampling_rate, name, target_rate)
    acoustic = check_length(resample(samples, rate, target_rate, name), min_samples, target_rate, name)
    return acoustic, official_whisper_waveform(samples, rate, target_rate)


__all__ = [
    "official_speech_waveforms",
    "official_whisper_waveform",
    "pcm16_round_trip",
    "transforms_resample",
    "transforms_resample_kernel",
]
