"""Stability, the paper's claim, measured on our own data: the stage-1 (explicit) and stage-2 (implicit) models of the
proof of learning (bench/bench_train_learning.py) on its held-out set, every clip asked again under prompt
paraphrases, recording conditions and sampled decoding. Prints each model's accuracy and flip rate per family from
one `evaluate --stability` run (explicit answers of stage 1 beside implicit answers of stage 2).

Takes the folders bench_train_learning.py leaves in its --work folder (stage1/model, stage2/model, test_data); with
--train and no such folders it runs bench_train_learning.py first, at --train-scale of its steps.

  nice -n 19 python bench/bench_stability.py --work bench_train_learning [--families prompts conditions decoding]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="bench_train_learning", help="bench_train_learning.py's working folder")
    parser.add_argument("--explicit-model", help="default: WORK/stage1/model")
    parser.add_argument("--implicit-model", help="default: WORK/stage2/model")
    parser.add_argument("--dataset", help="default: WORK/test_data:all (the held-out set)")
    parser.add_argument("--families", nargs="+", default=["prompts", "conditions", "decoding"])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--limit-tokens", type=int, default=120,
                        help="answer length limit (bench_train_learning uses 120 for explicit, 16 for implicit)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", help="default: WORK/stability")
    parser.add_argument("--train", action="store_true", help="run bench_train_learning.py first if WORK lacks models")
    parser.add_argument("--train-scale", type=float, default=1.0,
                        help="with --train: the share of bench_train_learning's default steps")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    explicit = Path(args.explicit_model or work / "stage1" / "model")
    implicit = Path(args.implicit_model or work / "stage2" / "model")
    dataset = args.dataset or f"{work / 'test_data'}:all"
    if not (explicit.is_dir() and implicit.is_dir()):
        if not args.train:
            parser.error(f"{explicit} or {implicit} is missing: run bench/bench_train_learning.py --work {work} "
                         "first, or give --train")
        steps = [f"--{name}-steps={max(1, round(args.train_scale * default))}"
                 for name, default in (("pretrain", 1500), ("stage1", 1000), ("stage2", 5000))]
        subprocess.run([sys.executable, str(HERE / "bench_train_learning.py"), "--work", str(work), *steps],
                       check=True)
    out = Path(args.out or work / "stability")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from c2ser_hf.evaluation.stability import evaluate_stability

    rows = []
    for name, model, mode in (("stage 1", explicit, "explicit"), ("stage 2", implicit, "implicit")):
        started = time.perf_counter()
        section = evaluate_stability(model, dataset, out / name.replace(" ", ""), families=args.families,
                                     modes=[mode], samples=args.samples, temperature=args.temperature,
                                     decoding="greedy", max_new_tokens=args.limit_tokens, batch_size=args.batch_size,
                                     answer_language="dataset")
        [entry] = section["results"]
        rows.append((f"{name} ({mode})", entry, time.perf_counter() - started))
    families = list(dict.fromkeys(f for _, entry, _ in rows for f in entry["families"]))
    print(f"held-out clips: {rows[0][1]['clips']}; families {', '.join(families)}; greedy clean answers")
    header = ["model", "clean acc", "variants acc", "flip", "kappa", *(f"{f} flip" for f in families),
              *(f"{f} acc" for f in families), "unparseable", "min"]
    print("  ".join(f"{h:>14}" for h in header))
    for name, entry, seconds in rows:
        metrics = entry["stability"]
        cells = [name, _percent(metrics["clean"]["accuracy"]), _percent(metrics["overall"]["accuracy"]),
                 _percent(metrics["overall"]["flip_rate"]), _number(metrics["overall"]["kappa"]),
                 *(_percent(metrics["by_family"].get(f, {}).get("flip_rate")) for f in families),
                 *(_percent(metrics["by_family"].get(f, {}).get("accuracy")) for f in families),
                 _percent(metrics["overall"]["unparseable_rate"]), f"{seconds / 60:.1f}"]
        print("  ".join(f"{c:>14}" for c in cells))
    print("per variant, flip rate (explicit / implicit):")
    for variant in dict.fromkeys(v for _, entry, _ in rows for names in entry["families"].values() for v in names):
        values = [_percent(entry["stability"]["by_variant"].get(variant, {}).get("flip_rate")) for _, entry, _ in rows]
        print(f"  {variant:>12}  " + " / ".join(values))
    (out / "bench_stability.json").write_text(json.dumps({name: entry for name, entry, _ in rows}, indent=1))


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _number(value) -> str:
    return "—" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
