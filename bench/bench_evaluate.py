"""`evaluate_model` throughput per mode on random weights, one process; `scores`, the baseline, runs in the same run.

    python bench/bench_evaluate.py [--size small] [--clips 14] [--device cpu] [--dtype float32] [--batch-size 8]
                                   [--implicit-tokens 16] [--explicit-tokens 96] [--repeats 1] [--summary FILE]

Prints clips/s of the whole harness (decoding the dataset's audio, length-grouped batches, the model, appending
predictions.jsonl) for `scores`, implicit greedy, implicit `official` decoding and explicit greedy, each also as a
ratio against `scores` (> 1: faster than scores). The clips follow Emo-Emilia's duration spread: per emotion and
language, durations whose mean is that of Table III of the paper (the total duration of its 100 clips), log-normal
around it and within Emilia's 3-30 s segments, --clips / 14 of each. Random weights rarely emit the end token and
sometimes emit it at once, so every answer is made exactly --implicit-tokens / --explicit-tokens long (about the
length of real implicit and explicit answers). Rounds alternate between the modes; each time is a median.

On a GPU, the paper's test-set size at the released shapes (random weights, built on the device, LLM in bf16):
    python bench/bench_evaluate.py --size full --device cuda --dtype bfloat16 --clips 1400 --batch-size 32
(goal for `scores`: at most 7 s on one H100). Ends with one JSON line (`SUMMARY`).
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from bench_c2ser import build_model
from summary import emit

# Table III: seconds of the 100 clips of each emotion, Chinese then English
TABLE_III_SECONDS = {
    "anger": (859, 1043), "happiness": (739, 1072), "neutral": (805, 710), "sadness": (794, 1208),
    "surprise": (721, 837), "disgust": (635, 946), "fear": (859, 878),
}
EMILIA_SEGMENT_SECONDS = (3.0, 30.0)
SCORES_GOAL_SECONDS = 7.0
MODES = (("scores", "scores", None), ("implicit greedy", "implicit", "greedy"),
         ("implicit official", "implicit", "official"), ("explicit greedy", "explicit", "greedy"))


def emo_emilia_like(folder: Path, clips: int, seed: int = 0) -> tuple[Path, float]:
    """A dataset folder (save_to_disk) of noise-and-tone clips with Emo-Emilia's duration spread; (path, hours)."""
    from datasets import Audio, Dataset

    rng = np.random.default_rng(seed)
    per_group = max(1, round(clips / 14))
    rows = {"audio": [], "emotion": [], "language": [], "id": []}
    for emotion, totals in TABLE_III_SECONDS.items():
        for language, total in zip(("zh", "en"), totals):
            draws = rng.lognormal(0.0, 0.5, per_group)
            seconds = np.clip(draws / draws.mean() * total / 100, *EMILIA_SEGMENT_SECONDS)
            for number, duration in enumerate(seconds):
                t = np.arange(int(duration * 16000)) / 16000
                tone = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
                rows["audio"].append({"array": (tone + rng.normal(0, 0.02, t.shape)).astype(np.float32),
                                      "sampling_rate": 16000})
                rows["emotion"].append(emotion)
                rows["language"].append(language)
                rows["id"].append(f"{language}-{emotion}-{number:04d}")
    hours = sum(len(a["array"]) for a in rows["audio"]) / 16000 / 3600
    Dataset.from_dict(rows).cast_column("audio", Audio()).save_to_disk(str(folder))
    return folder, hours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("tiny", "small", "full"), default="small")
    parser.add_argument("--clips", type=int, default=14)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--implicit-tokens", type=int, default=16)
    parser.add_argument("--explicit-tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--summary", help="also write the SUMMARY line to this file")
    args = parser.parse_args()

    from c2ser_hf.evaluation import evaluate_model

    device = torch.device(args.device)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    model, processor = build_model(args.size, device, dtype)
    with tempfile.TemporaryDirectory() as work:
        dataset, hours = emo_emilia_like(Path(work) / "emo-emilia-like", args.clips)
        print(f"{args.size} C2SER on {device} (LLM {args.dtype}); {args.clips} clips, {hours:.2f} h of audio, "
              f"batch size {args.batch_size}; answers of {args.implicit_tokens} (implicit) / {args.explicit_tokens} "
              f"(explicit) tokens")
        walls = {name: [] for name, _, _ in MODES}
        clips = None
        for _ in range(args.repeats):
            for name, mode, decoding in MODES:
                tokens = args.explicit_tokens if mode == "explicit" else args.implicit_tokens
                model.generation_config.update(min_new_tokens=tokens, max_new_tokens=tokens)
                results = evaluate_model((model, processor), dataset, Path(work) / "out", mode=mode,
                                         decoding=decoding or "official", batch_size=args.batch_size, overwrite=True,
                                         progress=False)
                [entry] = results["results"]
                walls[name].append(entry["wall_s"])
                clips = entry["clips"]
    seconds = {name: statistics.median(values) for name, values in walls.items()}
    summary = {"size": args.size, "device": str(device), "dtype": args.dtype, "clips": clips, "hours": round(hours, 3),
               "batch_size": args.batch_size}
    for name, _, _ in MODES:
        rate = clips / seconds[name]
        ratio = seconds["scores"] / seconds[name]
        print(f"  {name:18s} {seconds[name]:8.2f} s  {rate:7.2f} clips/s  ({ratio:.2f}x the clips/s of scores)")
        key = name.replace(" ", "_")
        summary.update({f"{key}_s": round(seconds[name], 3), f"{key}_clips_per_s": round(rate, 3),
                        f"{key}_over_scores": round(ratio, 3)})
    if device.type == "cuda" and clips >= 1400:
        met = seconds["scores"] <= SCORES_GOAL_SECONDS
        print(f"  scores over {clips} clips: {seconds['scores']:.2f} s (goal <= {SCORES_GOAL_SECONDS:.0f} s on one "
              f"H100: {'met' if met else 'NOT MET'})")
    emit(summary, args.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
