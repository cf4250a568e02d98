"""Generated test audio: espeak-ng speech and numpy signals, written with soundfile."""

import subprocess

import numpy as np
import soundfile as sf


def speech(path, text="The weather is lovely today.", pitch=50, speed=160, amplitude=100, voice=None):
    """Synthesise `text` with espeak-ng into a WAV file (22.05 kHz mono int16); `voice` e.g. "cmn" for Mandarin."""
    subprocess.run(
        ["espeak-ng", "-w", str(path), "-p", str(pitch), "-s", str(speed), "-a", str(amplitude),
         *(["-v", voice] if voice else []), text],
        check=True,
        capture_output=True,
    )
    return path


def tone(path, seconds=1.0, rate=16000, channels=1, subtype="PCM_16", freq=220.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.shape)
    data = np.stack([mono * (1 - 0.3 * c) for c in range(channels)], axis=1) if channels > 1 else mono
    sf.write(path, data.astype(np.float32), rate, subtype=subtype)
    return path
