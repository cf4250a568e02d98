"""Emotion2Vec-S feature-extraction throughput against FunASR's emotion2vec, same weights and audio, one process.

    python bench/bench_emotion2vec_s.py [--device cuda] [--repeats 5]

Prints times and ratios (>1 means ours is faster):
  1. batch 1, one 10 s clip: FunASR `extract_features` vs `Emotion2VecSModel`;
  2. 8 clips of 2-10 s: our length-sorted batched path vs our own one-by-one loop, with the padding share of the
     computed frames, and FunASR one-by-one for reference.
Random emotion2vec_base-shaped weights: speed does not depend on the values.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from funasr_emotion2vec import BASE_MODEL_CONF, build_funasr_model, save_funasr  # noqa: E402

from c2ser_hf.convert_emotion2vec import convert_emotion2vec  # noqa: E402
from c2ser_hf.extract_features import encode, plan_batches  # noqa: E402
from c2ser_hf.modeling import Emotion2VecSModel  # noqa: E402
from c2ser_hf.processing import Emotion2VecSFeatureExtractor  # noqa: E402
from timing import timed  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    reference = build_funasr_model(BASE_MODEL_CONF, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        save_funasr(reference, Path(tmp) / "model.pt")
        convert_emotion2vec(Path(tmp) / "model.pt", Path(tmp) / "hf")
        ours = Emotion2VecSModel.from_pretrained(Path(tmp) / "hf").to(device).eval()
    reference = reference.to(device).eval()
    extractor = Emotion2VecSFeatureExtractor()
    rng = np.random.default_rng(0)
    print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} threads'})")

    clip = torch.from_numpy(rng.normal(0, 0.1, 10 * 16000).astype(np.float32))[None].to(device)
    with torch.inference_mode():
        t, _ = timed({"funasr": lambda: reference.extract_features(clip, padding_mask=None), "ours": lambda: ours(clip)},
                  args.repeats, sync)
    t_funasr, t_ours = t["funasr"], t["ours"]
    print(f"[batch 1, 10 s] FunASR {t_funasr * 1000:.1f} ms, ours {t_ours * 1000:.1f} ms, "
          f"ratio FunASR/ours = {t_funasr / t_ours:.2f}x")

    clips = [rng.normal(0, 0.1, int(s * 16000)).astype(np.float32) for s in np.linspace(2, 10, 8)]
    lengths = ours._get_feat_extract_output_lengths(torch.tensor([len(c) for c in clips])).tolist()
    batches = plan_batches(lengths, max_batch_size=8)
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    padding = 1 - sum(lengths) / computed

    def one_by_one_ours():
        for c in clips:
            ours(torch.from_numpy(c)[None].to(device))

    def one_by_one_funasr():
        for c in clips:
            reference.extract_features(torch.from_numpy(c)[None].to(device), padding_mask=None)

    def batched(max_padding):
        return lambda: list(encode(ours, extractor, clips, max_batch_size=8, max_padding=max_padding))

    with torch.inference_mode():
        t, _ = timed(
            {"loop": one_by_one_ours, "batched": batched(0.15), "naive": batched(1.0), "funasr": one_by_one_funasr},
            args.repeats,
            sync,
        )
    t_loop, t_batched, t_naive, t_funasr_loop = t["loop"], t["batched"], t["naive"], t["funasr"]
    print(f"[8 clips, 2-10 s] batches {[len(b) for b in batches]}, padding {padding:.1%} of computed frames")
    print(f"  ours one-by-one {t_loop * 1000:.0f} ms | ours batched {t_batched * 1000:.0f} ms "
          f"(ratio loop/batched = {t_loop / t_batched:.2f}x) | one naive batch of 8 {t_naive * 1000:.0f} ms "
          f"({t_loop / t_naive:.2f}x) | FunASR one-by-one {t_funasr_loop * 1000:.0f} ms "
          f"(ratio FunASR/ours-batched = {t_funasr_loop / t_batched:.2f}x)")


if __name__ == "__main__":
    main()
