"""Turn any user audio (file path, array, tensor; any dtype, rate or channel layout) into validated mono float32."""

import importlib.util
import os
import re
import warnings
from numbers import Number

import numpy as np
import torch
from transformers.audio_utils import load_audio
from transformers.utils import is_torchaudio_available

MAX_CHANNELS = 8
# Declared sample rates accepted: below 1 kHz holds no speech, and a header declaring e.g. 1 Hz turns a few KB into
# hours of audio once resampled to 16 kHz; no recording interface goes above 384 kHz.
MIN_RATE, MAX_RATE = 1_000, 384_000
# Longest audio accepted, unless the caller or this environment variable sets another limit (the Space sets a lower
# one): bounds the work one input can cause before anything is decoded.
DEFAULT_MAX_SECONDS = 3600.0
MAX_SECONDS_VARIABLE = "C2SER_HF_MAX_AUDIO_SECONDS"

# Integer PCM is scaled to [-1, 1) by its full-scale value, as soundfile/torchaudio do when decoding files.
_PCM_SCALE = {np.dtype(np.int8): 2**7, np.dtype(np.int16): 2**15, np.dtype(np.int32): 2**31}


class AudioInputError(ValueError):
    """Audio that cannot be used; the message starts with the input's name (its path, or e.g. `audio[2]`)."""


def max_seconds_limit(max_seconds: float | None = None) -> float:
    """`max_seconds` itself, else the `C2SER_HF_MAX_AUDIO_SECONDS` environment variable, else `DEFAULT_MAX_SECONDS`."""
    if max_seconds is not None:
        return float(max_seconds)
    value = os.environ.get(MAX_SECONDS_VARIABLE)
    if value is None:
        return DEFAULT_MAX_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (np.isfinite(seconds) and seconds > 0):
        raise AudioInputError(f"{MAX_SECONDS_VARIABLE}={value!r}: must be a positive number of seconds")
    return seconds


def check_bounds(rate: int, seconds: float | None, name: str, max_seconds: float | None = None) -> None:
    """Refuse a declared `rate` outside MIN_RATE..MAX_RATE, or a duration over the limit (`max_seconds_limit`)."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioInputError(f"{name}: declares a sample rate of {rate:,} Hz, outside the "
                              f"{MIN_RATE:,}-{MAX_RATE:,} Hz accepted")
    limit = max_seconds_limit(max_seconds)
    if seconds is not None and seconds > limit:
        raise AudioInputError(f"{name}: lasts {seconds:,.1f} s, over the limit of {limit:g} s (max_seconds, or the "
                              f"{MAX_SECONDS_VARIABLE} environment variable, sets another)")


def _check_header(path: str, max_seconds: float | None) -> None:
    """Rate and duration as the file's header declares them, read without decoding (torchcodec, the decoder behind
    torchaudio.load); a header that cannot be read is left to the decoder, which names the reason."""
    if importlib.util.find_spec("torchcodec") is None:
        return
    from torchcodec.decoders import AudioDecoder

    try:
        metadata = AudioDecoder(path).metadata
    except Exception:
        return
    if metadata.sample_rate is not None:
        check_bounds(metadata.sample_rate, metadata.duration_seconds_from_header, path, max_seconds)


def decode_audio_file(path: str | os.PathLike, target_rate: int = 16000,
                      max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file to mono float32 samples at the file's own rate: (samples, rate). As the official C2SER
    and Emotion2Vec-S code decodes: `torchaudio.load`, channels averaged. Without torchaudio, transformers' default
    decoder gives the samples at `target_rate` instead. torchaudio.load reads the container from the content (FFmpeg
    through torchcodec), so MP4, M4A, AAC and WebM decode whatever the extension; transformers' `load_audio` with
    its torchaudio backend would refuse them by extension. The header's rate and duration are bounded before
    decoding (`check_bounds`), the decoded ones again after."""
    path = os.fspath(path)
    # Checked here because `load_audio` reads a string that is not a file as base64 or as a URL.
    if not os.path.exists(path):
        raise AudioInputError(f"{path}: file does not exist")
    if not os.path.isfile(path):
        raise AudioInputError(f"{path}: is not a file")
    if os.path.getsize(path) == 0:
        raise AudioInputError(f"{path}: is an empty file (0 bytes), no audio")
    _check_header(path, max_seconds)
    try:
        if is_torchaudio_available():
            import torchaudio

            decoded, rate = torchaudio.load(path)
            samples, rate = decoded.mean(dim=0).numpy().astype(np.float32), int(rate)
        else:
            samples, rate = load_audio(path, sampling_rate=target_rate), target_rate
    except Exception as error:
        raise decoding_error(path, error) from error
    if samples.size == 0:
        raise AudioInputError(f"{path}: has no audio (the file holds no samples)")
    check_bounds(rate, samples.size / rate, path, max_seconds)
    return samples, rate


def decoding_error(path: str, error: Exception) -> AudioInputError:
    """One line for a file the decoder refused, without the decoder's C++ source locations."""
    detail = " ".join(str(error).split())
    if "No audio frames were decoded" in detail:
        return AudioInputError(f"{path}: has no audio (the file holds no samples)")
    # torchcodec: "Failed to create AudioDecoder for F: SingleStreamDecoder, /src/…/X.cpp:41, <reason>"
    detail = re.sub(r"(?:\w+, )?\S*\.(?:cpp|cc|h|c):\d+,?\s*", "", detail).strip(" ,")
    detail = detail if len(detail) <= 160 else detail[:157] + "..."
    return AudioInputError(f"{path}: could not be decoded as audio ({detail})")


def _check_sampling_rate(sampling_rate, name: str) -> None:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
        raise AudioInputError(f"{name}: sampling_rate must be a positive int, got {sampling_rate!r}")


def _to_float32(samples: np.ndarray, name: str) -> np.ndarray:
    dtype = samples.dtype
    if dtype.kind == "f":
        return samples.astype(np.float32, copy=False)
    if dtype in _PCM_SCALE:
        return samples.astype(np.float32) / _PCM_SCALE[dtype]
    if dtype == np.uint8:
        return (samples.astype(np.float32) - 128) / 128
    raise AudioInputError(f"{name}: unsupported dtype {dtype}; use float16/32/64 or int8/int16/int32/uint8 PCM")


def _to_mono(samples: np.ndarray, name: str) -> np.ndarray:
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise AudioInputError(f"{name}: expected 1-D or 2-D (channels x samples) audio, got shape {samples.shape}")
    rows, cols = samples.shape
    channel_axis = 0 if rows <= MAX_CHANNELS and rows < cols else 1 if cols <= MAX_CHANNELS and cols < rows else None
    if channel_axis is not None:
        warnings.warn(f"{name}: array of shape {samples.shape} taken as {samples.shape[channel_axis]} channels "
                      "(the smaller axis) and averaged to mono", stacklevel=4)
        return samples.mean(axis=channel_axis)
    raise AudioInputError(
        f"{name}: cannot tell channels from samples in shape {samples.shape}; channels must be the smaller axis "
        f"and at most {MAX_CHANNELS} (pass a list of arrays for a batch)"
    )


def resample(samples: np.ndarray, orig_rate: int, target_rate: int, name: str) -> np.ndarray:
    """`torchaudio.functional.resample` with its defaults (what the official Emotion2Vec-S extraction uses); the
    samples themselves when the rates agree."""
    if orig_rate == target_rate:
        return samples
    if not is_torchaudio_available():
        raise AudioInputError(
            f"{name}: resampling {orig_rate} Hz to {target_rate} Hz needs torchaudio (pip install torchaudio), "
            f"or pass audio already at {target_rate} Hz"
        )
    import torchaudio

    return torchaudio.functional.resample(torch.from_numpy(samples), orig_rate, target_rate).numpy()


def _as_array(audio, name: str) -> np.ndarray:
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu()
        # numpy has no bfloat16
        return (audio.float() if audio.dtype == torch.bfloat16 else audio).numpy()
    if isinstance(audio, np.ndarray):
        return audio
    if isinstance(audio, (list, tuple)):
        try:
            return np.asarray(audio)
        except ValueError as error:
            raise AudioInputError(f"{name}: nested lists of unequal lengths are not one waveform") from error
    raise AudioInputError(
        f"{name}: expected a file path, numpy array, torch tensor or list of samples, got {type(audio).__name__}"
    )


def _check_samples(samples: np.ndarray, name: str) -> None:
    if samples.size == 0:
        raise AudioInputError(f"{name}: is empty (0 samples)")
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise AudioInputError(f"{name}: contains {bad} NaN/Inf samples")


def to_mono(
    audio, sampling_rate: int | None = None, name: str = "audio[0]", target_rate: int = 16000,
    max_seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Validated mono float32 samples of `audio` at their own rate, and that rate (see `to_mono_16k` for the input
    forms and the bounds; array input without `sampling_rate` is taken to be at `target_rate`)."""
    if isinstance(audio, (str, os.PathLike)):
        samples, rate = decode_audio_file(audio, target_rate, max_seconds)
        _check_samples(samples, os.fspath(audio))
        return samples, rate
    if sampling_rate is not None:
        _check_sampling_rate(sampling_rate, name)
    samples = _to_mono(_to_float32(_as_array(audio, name), name), name)
    # Checked before resampling so the NaN/Inf count refers to the user's own samples.
    _check_samples(samples, name)
    rate = int(sampling_rate or target_rate)
    check_bounds(rate, samples.shape[0] / rate, name, max_seconds)
    return np.ascontiguousarray(samples, dtype=np.float32), rate


def check_length(samples: np.ndarray, min_samples: int, rate: int, name: str) -> np.ndarray:
    """The samples, or an `AudioInputError` when there are fewer than `min_samples`."""
    if samples.shape[0] < min_samples:
        raise AudioInputError(
            f"{name}: has {samples.shape[0]} samples at {rate} Hz, fewer than the minimum of {min_samples} "
            f"({1000 * min_samples / rate:g} ms)"
        )
    return np.ascontiguousarray(samples, dtype=np.float32)


def to_mono_16k(
    audio,
    sampling_rate: int | None = None,
    name: str = "audio[0]",
    target_rate: int = 16000,
    min_samples: int = 0,
    max_seconds: float | None = None,
) -> np.ndarray:
    """
    Return `audio` as a validated 1-D float32 numpy array at `target_rate` Hz.

    Args:
        audio: a file path (`str` / `os.PathLike`, decoded at its own rate; `sampling_rate` is ignored), or samples as
            a numpy array, torch tensor or list: 1-D, or 2-D with at most 8 channels on the smaller axis (averaged).
            Floats are taken as they are; int8/int16/int32/uint8 are PCM scaled to [-1, 1).
        sampling_rate: rate of array input. `None` takes the array as already at `target_rate` (16 kHz): give the
            rate of any other audio, or it is silently read at the wrong speed. Other rates are resampled with
            `torchaudio.functional.resample` defaults. A 2-D array is averaged over its channels, with a warning.
        name: how errors refer to array input (files are named by their path).
        min_samples: fewest samples accepted after resampling (Emotion2Vec-S needs its 400-sample receptive field).
        max_seconds: longest audio accepted (default: `C2SER_HF_MAX_AUDIO_SECONDS`, else an hour). A file's header is
            checked before it is decoded; rates outside 1-384 kHz are refused, so no input is resampled into hours.

    Raises:
        AudioInputError: the message starts with the input's name and says what is wrong.
    """
    name = os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else name
    samples, rate = to_mono(audio, sampling_rate, name, target_rate, max_seconds)
    return check_length(resample(samples, rate, target_rate, name), min_samples, target_rate, name)


def _is_one_waveform(audio) -> bool:
    if isinstance(audio, (str, os.PathLike, np.ndarray, torch.Tensor)):
        return True
    # A flat list of numbers is one waveform, not a batch of scalars.
    return isinstance(audio, (list, tuple)) and len(audio) > 0 and all(isinstance(x, Number) for x in audio)


def audio_items(audios) -> list[tuple[object, str]]:
    """One audio input or a list of them, each with the name its errors use: `audio[0]`, `audio[1]`, ... (files by
    their path)."""
    if _is_one_waveform(audios):
        audios = [audios]
    elif not isinstance(audios, (list, tuple)):
        raise AudioInputError(f"audio: expected a file path, array, tensor or a list, got {type(audios).__name__}")
    if len(audios) == 0:
        raise AudioInputError("audio: empty batch (no items)")
    return [
        (audio, os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else f"audio[{i}]")
        for i, audio in enumerate(audios)
    ]


def to_mono_16k_batch(
    audios, sampling_rate: int | None = None, target_rate: int = 16000, min_samples: int = 0,
    max_seconds: float | None = None,
) -> list[np.ndarray]:
    """[`to_mono_16k`] over one item or a list of items (see `audio_items`)."""
    return [
        to_mono_16k(audio, sampling_rate, name=name, target_rate=target_rate, min_samples=min_samples,
                    max_seconds=max_seconds)
        for audio, name in audio_items(audios)
    ]


def split_windows(waveform: np.ndarray, max_samples: int) -> list[tuple[int, int]]:
    """(start, end) sample bounds of the fewest equal-length windows of at most `max_samples` that cover the
    waveform: 40 s at a 30 s limit gives two 20 s windows rather than 30 s + a 10 s remainder."""
    count = -(-len(waveform) // max_samples)
    bounds = [round(i * len(waveform) / count) for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


__all__ = [
    "AudioInputError",
    "audio_items",
    "check_bounds",
    "check_length",
    "decode_audio_file",
    "decoding_error",
    "max_seconds_limit",
    "resample",
    "split_windows",
    "to_mono",
    "to_mono_16k",
    "to_mono_16k_batch",
]
