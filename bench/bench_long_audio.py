"""Peak memory of `c2ser-hf extract-features` on long audio: 1, 5 and 10 minutes, each in its own process.

    python bench/bench_long_audio.py [--minutes 1 5 10] [--summary FILE]

Random emotion2vec_base-shaped weights (memory does not depend on the values). Prints, per clip length, the peak
resident memory of the process (from `wait4`), its growth over the 1-minute run and that growth per minute, then runs
one call with all the clips and a 3 s one (all must be written). The baseline, in the same run: the 1-minute clip
through whole-input attention (`window_seconds=None`), whose memory grows with the square of the length; the dense
attention bias alone would be 12 heads x 30,010^2 frames x 4 bytes = 43 GB at 10 minutes. Ends with one JSON line
(`SUMMARY`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from summary import emit  # noqa: E402

RATE = 16000
EXTRACT = """
import sys, torch
from c2ser_hf.extract_features import extract_features_to_files
from c2ser_hf.modeling import Emotion2VecSModel
from c2ser_hf.processing import Emotion2VecSFeatureExtractor
model_dir, out, window = sys.argv[1], sys.argv[2], sys.argv[3]
model = Emotion2VecSModel.from_pretrained(model_dir).eval()
extractor = Emotion2VecSFeatureExtractor.from_pretrained(model_dir)
with torch.inference_mode():
    report = extract_features_to_files(model, extractor, sys.argv[4:], out, progress=False,
                                       window_seconds=None if window == "none" else float(window))
assert not report.failed, report.failed
"""


def clip(path: Path, seconds: float, seed: int = 0) -> Path:
    """Speech-like test audio: a gliding tone with a syllable-rate envelope and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * (140 + 40 * np.sin(0.5 * t)) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    sf.write(path, (wave + 0.01 * rng.normal(size=t.shape)).astype(np.float32), RATE, subtype="PCM_16")
    return path


def run(args: list[str], env: dict) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{args[:4]}... exited with status {status}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    args = parser.parse_args()
    import torch

    from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSModel
    from c2ser_hf.processing import Emotion2VecSFeatureExtractor

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "HF_HUB_OFFLINE": "1"}
    root = Path(tempfile.mkdtemp(prefix="bench_long_audio."))
    try:
        torch.manual_seed(0)
        Emotion2VecSModel(Emotion2VecSConfig()).save_pretrained(root / "model")
        Emotion2VecSFeatureExtractor().save_pretrained(root / "model")
        clips = {minutes: clip(root / f"{minutes:g}min.wav", 60 * minutes, seed=int(minutes)) for minutes in args.minutes}
        short = clip(root / "short.wav", 3.0, seed=99)

        def extract(name, window, *files):
            return run([sys.executable, "-c", EXTRACT, str(root / "model"), str(root / name), window, *map(str, files)],
                       env)

        baseline, baseline_seconds = extract("whole", "none", clips[args.minutes[0]])
        print(f"{args.minutes[0]:g} min through whole-input attention (baseline): peak RSS {baseline:.0f} MB, "
              f"{baseline_seconds:.1f} s")
        results = {}
        for minutes, path in clips.items():
            results[minutes] = extract(f"out-{minutes:g}", "30", path)
        first = args.minutes[0]
        print("minutes  peak RSS MB  time s  vs baseline")
        for minutes, (rss, seconds) in results.items():
            print(f"{minutes:7g}  {rss:11.0f}  {seconds:6.1f}  {rss / baseline:.2f}x")
        growth = {m: (results[m][0] - results[first][0]) / (m - first) for m in args.minutes if m != first}
        for minutes, per_minute in growth.items():
            print(f"growth from {first:g} to {minutes:g} min: {per_minute:.1f} MB per minute of audio")
        whole = np.load(root / "whole" / f"{first:g}min.npy")
        windowed = np.load(root / f"out-{first:g}" / f"{first:g}min.npy")
        difference = np.abs(windowed - whole).mean() / np.abs(whole).mean()
        print(f"{first:g} min windowed vs whole-input frames (random weights): mean abs difference {difference:.3f} of "
              f"the mean abs value; max abs difference {np.abs(windowed - whole).max():.3f}")
        together, seconds = extract("together", "30", *clips.values(), short)
        written = sorted(p.name for p in (root / "together").glob("*.npy"))
        frames = {p.stem: np.load(p, mmap_mode="r").shape for p in (root / "together").glob("*.npy")}
        print(f"one call with {', '.join(p.name for p in [*clips.values(), short])}: peak RSS {together:.0f} MB, "
              f"{seconds:.1f} s; written {written}; frames {frames}")
        assert len(written) == len(clips) + 1
        emit({"bench": "long_audio", "baseline_whole_attention_mb": round(baseline),
              "peak_rss_mb": {f"{m:g}": round(r[0]) for m, r in results.items()},
              "growth_mb_per_minute": {f"{m:g}": round(g, 1) for m, g in growth.items()},
              "windowed_vs_whole_mean_abs_relative": round(float(difference), 4),
              "together_mb": round(together)}, args.summary)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
