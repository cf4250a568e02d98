"""Audio bounded before work, in the one audio-input path every caller shares: a declared rate outside 1-384 kHz and
audio longer than the limit (read from the header before decoding) are refused in one line, at once."""

import time
import wave

import numpy as np
import pytest

from c2ser_hf.processing.audio_input import AudioInputError, to_mono_16k

from audio_fixtures import tone
from cli_runner import run_cli


def one_hertz_wav(path, frames=3000):
    """A 6 KB WAV whose header declares 1 Hz: 3,000 frames read as 50 minutes, 48 M samples once at 16 kHz."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(1)
        handle.writeframes(np.zeros(frames, dtype=np.int16).tobytes())
    return path


def test_a_declared_rate_outside_the_range_is_refused_before_decoding(tmp_path):
    to_mono_16k(tone(tmp_path / "warm-up.wav", seconds=0.1))  # the decoder's import is not what is timed
    path = one_hertz_wav(tmp_path / "one-hertz.wav")
    started = time.monotonic()
    with pytest.raises(AudioInputError, match="one-hertz.wav: declares a sample rate of 1 Hz, outside the 1,000-384"):
        to_mono_16k(path)
    elapsed = time.monotonic() - started
    print(f"1 Hz header refused in {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0
    with pytest.raises(AudioInputError, match=r"audio\[0\]: declares a sample rate of 400,000 Hz"):
        to_mono_16k(np.zeros(4000, dtype=np.float32), sampling_rate=400_000)
    with pytest.raises(AudioInputError, match=r"audio\[0\]: declares a sample rate of 1 Hz"):
        to_mono_16k(np.zeros(3000, dtype=np.float32), sampling_rate=1)


def test_duration_is_capped_from_the_header_and_the_cap_is_configurable(tmp_path, monkeypatch):
    path = tone(tmp_path / "three.wav", seconds=3.0)
    assert to_mono_16k(path).shape == (48000,)
    with pytest.raises(AudioInputError, match=r"three.wav: lasts 3.0 s, over the limit of 2 s"):
        to_mono_16k(path, max_seconds=2)
    monkeypatch.setenv("C2SER_HF_MAX_AUDIO_SECONDS", "2.5")
    with pytest.raises(AudioInputError, match="over the limit of 2.5 s"):
        to_mono_16k(path)
    with pytest.raises(AudioInputError, match="over the limit of 2.5 s"):
        to_mono_16k(np.zeros(48000, dtype=np.float32), sampling_rate=16000)
    monkeypatch.setenv("C2SER_HF_MAX_AUDIO_SECONDS", "soon")
    with pytest.raises(AudioInputError, match="C2SER_HF_MAX_AUDIO_SECONDS='soon': must be a positive number"):
        to_mono_16k(path)


def test_cli_predict_refuses_a_one_hertz_header_in_one_line(tmp_path):
    model = tmp_path / "tiny"
    assert run_cli("new", "--out", model).returncode == 0
    path = one_hertz_wav(tmp_path / "one-hertz.wav")
    started = time.monotonic()
    result = run_cli("predict", path, "--model", model, timeout=120)
    elapsed = time.monotonic() - started
    print(f"predict on a 1 Hz header: {elapsed:.1f} s, exit {result.returncode}")
    assert "declares a sample rate of 1 Hz" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.returncode != 0
