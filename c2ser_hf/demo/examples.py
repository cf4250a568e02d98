"""The demo's example clips, synthesised with espeak-ng (nothing is downloaded): four short styles and one clip over
30 s that is scored per window. `python -m c2ser_hf.demo.examples FOLDER` writes them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

# (file name, transcript, espeak-ng pitch 0-99, speed in words per minute, amplitude 0-200)
SHORT_CLIPS = (
    ("cheerful.wav", "We won the final! I can't believe it, this is the best day of my life!", 80, 190, 150),
    ("gloomy.wav", "I miss her so much. Nothing feels the same anymore.", 20, 110, 60),
    ("furious.wav", "Get out of my room and do not ever come back here again!", 45, 210, 200),
    ("plain.wav", "The meeting starts at ten o'clock in the second floor room.", 50, 160, 100),
)
# Three moods in turn, long enough (> 30 s) for the timeline: (transcript, pitch, speed, amplitude) per part.
LONG_CLIP = "story.wav"
LONG_PARTS = (
    ("This morning began like any other. I made coffee, read the news, and walked to the station at the usual time. "
     "The train was on schedule and the carriage was half empty.", 50, 150, 100),
    ("Then my phone rang, and it was the hospital. They told me my father had collapsed at work. I could hardly "
     "breathe. I kept thinking about the last thing I said to him, and how small and unkind it was.", 25, 115, 70),
    ("But by the afternoon the doctors came back smiling. He was awake, he was joking with the nurses, and he asked "
     "for his newspaper! We laughed and cried at the same time. What a day, what a wonderful, wonderful day!",
     80, 185, 160),
)


def _espeak(text: str, path: Path, pitch: int, speed: int, amplitude: int) -> None:
    subprocess.run(["espeak-ng", "-w", str(path), "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), text],
                   check=True, capture_output=True)


def _long_clip(path: Path) -> None:
    import numpy as np
    import soundfile as sf

    parts = []
    for index, (text, pitch, speed, amplitude) in enumerate(LONG_PARTS):
        part = path.with_name(f".{path.stem}.{index}.wav")
        _espeak(text, part, pitch, speed, amplitude)
        samples, rate = sf.read(part, dtype="int16")
        parts.append(samples)
        part.unlink()
    sf.write(path, np.concatenate(parts), rate, subtype="PCM_16")


def write_examples(folder: str | os.PathLike) -> list[list[str]]:
    """Write the clips that `folder` lacks (each under a temporary name, renamed when complete) and return the
    example rows [path, transcript]. Raises FileNotFoundError when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng): no example clips")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, text, pitch, speed, amplitude in SHORT_CLIPS:
        rows.append([str(folder / name), text])
        if not (folder / name).is_file():
            temporary = folder / f".{name}.partial.wav"
            _espeak(text, temporary, pitch, speed, amplitude)
            os.replace(temporary, folder / name)
    rows.append([str(folder / LONG_CLIP), " ".join(part[0] for part in LONG_PARTS)])
    if not (folder / LONG_CLIP).is_file():
        temporary = folder / f".{LONG_CLIP}.partial.wav"
        _long_clip(temporary)
        os.replace(temporary, folder / LONG_CLIP)
    return rows


if __name__ == "__main__":
    for path, _ in write_examples(sys.argv[1] if len(sys.argv) > 1 else "examples"):
        print(path)
