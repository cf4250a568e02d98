"""Emotion2Vec-S feature-extraction throughput against FunASR's emotion2vec, same weights and audio, one process.

    python bench/bench_emotion2vec_s.py [--device cuda] [--repeats 5] [--no-reference] [--summary FILE]

Prints times and ratios (>1 means ours is faster):
  1. batch 1, one 10 s clip: FunASR `extract_features` vs `Emotion2VecSModel`;
  2. 8 clips of 2-10 s: our length-sorted batched path (the device's padding budget; on a GPU one batch whose CNN
     runs on the clips packed end to end) vs our own one-by-one loop (target: batched >= 3x faster, >= 2x FunASR
     one-by-one), with the padding share of the computed frames and the batched-vs-one-by-one features' max abs
     diff (target <= 1e-4 in strict fp32), once per --precisions entry: fp32 (on CUDA strict: TF32 off for matrix
     products and convolutions alike), tf32, bf16 (autocast); FunASR runs in the same arithmetic.
`--no-reference` leaves FunASR out (where it cannot be imported): ours alone, batched vs our loop.
Random emotion2vec_base-shaped weights: speed does not depend on the values. Ends with one JSON line (`SUMMARY`).
"""

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))

from funasr_emotion2vec import BASE_MODEL_CONF, build_funasr_model, save_funasr  # noqa: E402

from c2ser_hf.batch_sizes import acoustic_padding_budget, plan_batches  # noqa: E402
from c2ser_hf.convert_emotion2vec import convert_emotion2vec  # noqa: E402
from c2ser_hf.extract_features import encode  # noqa: E402
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSModel  # noqa: E402
from c2ser_hf.modeling.encoder_precision import encoder_precision  # noqa: E402
from c2ser_hf.processing import Emotion2VecSFeatureExtractor  # noqa: E402
from summary import emit  # noqa: E402
from timing import timed  # noqa: E402

BATCHING_TARGET, FUNASR_TARGET, PARITY_TARGET = 3.0, 2.0, 1e-4


@contextmanager
def arithmetic(precision: str, device):
    """`encoder_precision`, except that fp32 on CUDA is strict: no TF32 for convolutions either."""
    if precision == "fp32" and device.type == "cuda":
        flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    else:
        with encoder_precision(precision, device):
            yield


def build_models(device, reference: bool):
    """(ours, FunASR's model or None) with the same random weights; without the reference, ours alone at the same
    shape (the config defaults are emotion2vec_base's, as converted from BASE_MODEL_CONF)."""
    if not reference:
        torch.manual_seed(0)
        return Emotion2VecSModel(Emotion2VecSConfig()).to(device).eval(), None
    # FunASR's emotion2vec imports `distutils`, gone from Python 3.12; importing setuptools provides it
    import setuptools  # noqa: F401

    funasr_model = build_funasr_model(BASE_MODEL_CONF, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        save_funasr(funasr_model, Path(tmp) / "model.pt")
        convert_emotion2vec(Path(tmp) / "model.pt", Path(tmp) / "hf")
        ours = Emotion2VecSModel.from_pretrained(Path(tmp) / "hf").to(device).eval()
    return ours, funasr_model.to(device).eval()


def profile(paths: dict, device, precision: str, rows: int = 8):
    """torch.profiler's top operations (by device time on CUDA, else by CPU time) of one call of each path."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    for name, function in paths.items():
        with torch.inference_mode(), arithmetic(precision, device), torch_profile(activities=activities) as prof:
            function()
            if device.type == "cuda":
                torch.cuda.synchronize()
        events = prof.key_averages()
        print(f"  [profile {precision} {name}] {sum(e.count for e in events)} op calls")
        print("\n".join("    " + line for line in events.table(sort_by=key, row_limit=rows, max_name_column_width=48)
                         .splitlines()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-reference", action="store_true", help="leave FunASR out")
    parser.add_argument("--precisions", default=None,
                        help="comma-separated: fp32, tf32, bf16 (default: fp32 on a CPU, all three on CUDA)")
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    parser.add_argument("--profile", action="store_true",
                        help="also print, per precision, torch.profiler's top operations of each 8-clip path")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    args.precisions = args.precisions or ("fp32,tf32,bf16" if device.type == "cuda" else "fp32")

    ours, reference = build_models(device, reference=not args.no_reference)
    extractor = Emotion2VecSFeatureExtractor()
    rng = np.random.default_rng(0)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"device: {device} ({name}), FunASR reference: {'no' if reference is None else 'yes'}")
    summary = {"bench": "emotion2vec_s", "device": str(device), "device_name": name, "reference": reference is not None}

    clip = torch.from_numpy(rng.normal(0, 0.1, 10 * 16000).astype(np.float32))[None].to(device)
    single = {"ours": lambda: ours(clip)}
    if reference is not None:
        single["funasr"] = lambda: reference.extract_features(clip, padding_mask=None)
    with torch.inference_mode():
        t, _ = timed(single, args.repeats, sync)
    line = f"[batch 1, 10 s] ours {t['ours'] * 1000:.1f} ms"
    if reference is not None:
        line += f", FunASR {t['funasr'] * 1000:.1f} ms, ratio FunASR/ours = {t['funasr'] / t['ours']:.2f}x"
        summary["batch1_funasr_ms"] = round(t["funasr"] * 1000, 2)
    print(line)
    summary["batch1_ours_ms"] = round(t["ours"] * 1000, 2)

    clips = [rng.normal(0, 0.1, int(s * 16000)).astype(np.float32) for s in np.linspace(2, 10, 8)]
    lengths = ours._get_feat_extract_output_lengths(torch.tensor([len(c) for c in clips])).tolist()
    budget = acoustic_padding_budget(device)
    batches = plan_batches(lengths, max_batch_size=8, max_padding=budget)
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    padding = 1 - sum(lengths) / computed
    print(f"[8 clips, 2-10 s] batches {[len(b) for b in batches]} (padding budget {budget}), padding "
          f"{padding:.1%} of computed frames")
    summary.update(padding=round(padding, 4), batches=[len(b) for b in batches])

    def one_by_one_ours():
        return [ours(torch.from_numpy(c)[None].to(device)).last_hidden_state[0] for c in clips]

    def one_by_one_funasr():
        for c in clips:
            reference.extract_features(torch.from_numpy(c)[None].to(device), padding_mask=None)

    def batched(max_padding, max_batch_size=8):
        return lambda: sorted(encode(ours, extractor, clips, max_batch_size=max_batch_size, max_padding=max_padding),
                              key=lambda item: item[0])

    for precision in args.precisions.split(","):
        # "encode1": the same public path as "batched" (feature extractor, transfers, per-item results on the CPU) at
        # batch size 1, the one-by-one a user of extract-features gets; "loop" calls the model alone per clip
        paths = {"loop": one_by_one_ours, "batched": batched(budget), "naive": batched(1.0), "encode1": batched(1.0, 1)}
        if reference is not None:
            paths["funasr"] = one_by_one_funasr
        with torch.inference_mode(), arithmetic(precision, device):
            t, out = timed(paths, args.repeats, sync)
        diff = max((frames.to(device) - alone.float()).abs().max().item()
                   for (_, frames, _), alone in zip(out["batched"], out["loop"]))
        ratio = t["loop"] / t["batched"]
        line = (f"  {precision}: ours one-by-one {t['loop'] * 1000:.1f} ms | ours batched {t['batched'] * 1000:.1f} ms "
                f"(loop/batched = {ratio:.2f}x, target >= {BATCHING_TARGET:.0f}x: "
                f"{'met' if ratio >= BATCHING_TARGET else 'NOT MET'}) | one naive batch of 8 "
                f"{t['naive'] * 1000:.1f} ms ({t['loop'] / t['naive']:.2f}x) | batched vs one-by-one max abs diff "
                f"{diff:.2e}" + (f" (target <= {PARITY_TARGET:g}: {'met' if diff <= PARITY_TARGET else 'NOT MET'})"
                                 if precision == "fp32" else ""))
        line += (f" | encode() one-by-one {t['encode1'] * 1000:.1f} ms (encode1/batched = "
                 f"{t['encode1'] / t['batched']:.2f}x, encode1/naive = {t['encode1'] / t['naive']:.2f}x)")
        if reference is not None:
            funasr = t["funasr"] / t["batched"]
            line += (f" | FunASR one-by-one {t['funasr'] * 1000:.1f} ms (FunASR/ours-batched = {funasr:.2f}x, target "
                     f">= {FUNASR_TARGET:.0f}x: {'met' if funasr >= FUNASR_TARGET else 'NOT MET'})")
        print(line, flush=True)
        if args.profile:
            profile(paths, device, precision)
        summary[precision] = {**{f"clips8_{name}_ms": round(seconds * 1000, 2) for name, seconds in t.items()},
                              "ratio_loop_over_batched": round(ratio, 3), "max_abs_diff": diff,
                              "batching_target_met": ratio >= BATCHING_TARGET}
    emit(summary, args.summary)


if __name__ == "__main__":
    main()
