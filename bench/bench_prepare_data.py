"""Preparation throughput (utterances/s) at --num-proc 1 and 2, on a generated Emo-Emilia-style source.

Run: python bench/bench_prepare_data.py [--utterances 400] [--seconds 4] [--repeats 2]
Prints utterances/s for each and the ratio of num_proc 2 to num_proc 1, measured in the same process."""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import datasets

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "helpers"))

from audio_fixtures import tone  # noqa: E402
from timing import timed  # noqa: E402

from c2ser_hf.prepare_data import prepare_data  # noqa: E402

LABELS = ("angry", "happy", "fearful", "surprised", "neutral", "sad", "disgusted")


def make_source(folder: Path, utterances: int, seconds: float) -> Path:
    (folder / "wavs").mkdir(parents=True)
    rows = []
    for number in range(utterances):
        index = f"{('ZH', 'EN')[number % 2]}_B{number:05d}_S00000_W000000"
        tone(folder / "wavs" / f"{index}.wav", seconds=seconds, rate=24000, freq=120 + number % 200, seed=number)
        rows.append({"index": index, "emotion": LABELS[number % 7], "wav": f"wavs/{index}.wav", "text": "bench"})
    (folder / "Emo-Emilia-ALL.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--utterances", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as scratch:
        source = make_source(Path(scratch) / "source", args.utterances, args.seconds)
        out = Path(scratch) / "out"
        runs = {f"num_proc={n}": (lambda n=n: prepare_data("emo-emilia", source, out, num_proc=n, overwrite=True))
                for n in (1, 2)}
        times, _ = timed(runs, args.repeats)
    print(f"{args.utterances} utterances of {args.seconds:g} s (24 kHz wav -> 16 kHz FLAC parquet), "
          f"{os.cpu_count()} CPU cores, median of {args.repeats}")
    for name, seconds in times.items():
        print(f"  {name}: {args.utterances / seconds:7.1f} utterances/s ({seconds:.2f} s)")
    print(f"  ratio num_proc=2 / num_proc=1: {times['num_proc=1'] / times['num_proc=2']:.2f}x")


if __name__ == "__main__":
    main()
