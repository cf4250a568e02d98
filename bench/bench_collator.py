"""The training collator's time per batch of --batch clips: today's (the audio work once, both targets tokenised over
it) against the previous path (the processor once per variant, one set of audio features thrown away), in one run.

    python bench/bench_collator.py [--batch 8] [--seconds 8] [--repeats 5] [--summary FILE]

Two kinds of rows: decoded audio (`{"array", "sampling_rate"}`, as a decoded dataset gives it) and encoded 16-bit WAV
bytes, which the collator decodes first (the same work in both paths). Rounds alternate between the paths; each time
is a median. Checks that both paths give the same tensors, and prints the ratio (target: <= 0.6x the previous time
on decoded rows). Ends with one JSON line (`SUMMARY`).
"""

import argparse
import io

import numpy as np
import soundfile as sf
import torch

from bench_c2ser import build_model
from bench_train_step import EXPLICIT
from summary import emit
from timing import timed

from c2ser_hf.dataset_io import decode_audio, row_name
from c2ser_hf.training.collator import AUDIO_KEYS, VARIANTS, CoTCollator

TARGET = 0.6
IMPLICIT = "The emotion of this speech is surprise."


def previous_collator(processor, rows: list[dict]) -> dict:
    """The collator as it was: the processor's audio work once per variant, the second set of features unused."""
    waveforms = [decode_audio(row["audio"], row_name(row)) for row in rows]
    batch = {}
    for variant in VARIANTS:
        inputs = processor(waveforms, mode=variant, targets=[row[f"{variant}_target"] for row in rows],
                           sampling_rate=16000)
        batch.setdefault("audio", {key: inputs[key] for key in AUDIO_KEYS})
        batch[variant] = {key: inputs[key] for key in ("input_ids", "attention_mask", "labels")}
    return {**batch.pop("audio"), **batch}


def make_rows(count: int, seconds: float, encoded: bool) -> list[dict]:
    """`count` rows of noise clips of 0.5-1.0 × `seconds`, as arrays or as 16-bit WAV bytes."""
    rng = np.random.default_rng(0)
    rows = []
    for index in range(count):
        clip = rng.normal(0, 0.1, int(rng.uniform(0.5, 1.0) * seconds * 16000)).astype(np.float32)
        audio = {"array": clip, "sampling_rate": 16000}
        if encoded:
            buffer = io.BytesIO()
            sf.write(buffer, clip, 16000, format="WAV", subtype="PCM_16")
            audio = {"bytes": buffer.getvalue(), "path": None}
        rows.append({"id": index, "audio": audio, "explicit_target": EXPLICIT, "implicit_target": IMPLICIT})
    return rows


def flat(batch: dict) -> dict:
    return {**{key: batch[key] for key in AUDIO_KEYS},
            **{f"{variant}.{key}": value for variant in VARIANTS for key, value in batch[variant].items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0, help="longest clip; the others 0.5-1.0x that")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    args = parser.parse_args()
    _, processor = build_model("tiny", torch.device("cpu"), torch.float32)  # the collator reads only the processor
    collator = CoTCollator(processor)
    summary = {"bench": "collator", "batch": args.batch, "seconds_audio": args.seconds}
    print(f"batches of {args.batch} clips of {args.seconds / 2:g}-{args.seconds:g} s, median of {args.repeats}")
    for kind, encoded in (("decoded", False), ("encoded", True)):
        rows = make_rows(args.batch, args.seconds, encoded)
        paths = {"today": lambda: collator(rows), "previous": lambda: previous_collator(processor, rows)}
        times, results = timed(paths, args.repeats)
        today, previous = flat(results["today"]), flat(results["previous"])
        same = list(today) == list(previous) and all(torch.equal(today[k], previous[k]) for k in today)
        ratio = times["today"] / times["previous"]
        print(f"{kind} rows: {times['today'] * 1e3:.0f} ms per batch today, {times['previous'] * 1e3:.0f} ms before: "
              f"{ratio:.2f}x{' (target <= %.1fx)' % TARGET if not encoded else ''}; "
              f"{'the same' if same else 'DIFFERENT'} {len(today)} tensors")
        summary[kind] = {"today_ms": round(times["today"] * 1e3, 1), "previous_ms": round(times["previous"] * 1e3, 1),
                         "ratio": round(ratio, 3), "identical": same}
        if not same:
            raise SystemExit("the collator's batch differs from the previous path's")
    summary["meets_target"] = summary["decoded"]["ratio"] <= TARGET
    emit(summary, args.summary)


if __name__ == "__main__":
    main()
