"""Batched vs one-by-one C2SER at a given size and LLM dtype: first-step logits and greedy tokens.

    python bench/batch_parity.py [--size full] [--device cuda] [--new-tokens 16]

Tells numerical noise from a padding bug: in fp32 batched greedy must equal one by one; in bf16 the printed
first-step logit difference is set against the gap between each clip's two best logits (random weights make that
gap tiny, so argmax flips are expected where the gap is below the difference).
"""

import argparse

import numpy as np
import torch

from bench_c2ser import build_model, cast_language_model, make_clips


def compare(model, processor, clips, device, new_tokens) -> str:
    greedy = dict(num_beams=1, do_sample=False, repetition_penalty=1.0, max_new_tokens=new_tokens,
                  min_new_tokens=new_tokens)
    with torch.inference_mode():
        batch = processor(clips, mode="implicit").to(device)
        batched_logits = model(**batch).logits[:, -1].float()
        singles = [processor(clip, mode="implicit").to(device) for clip in clips]
        single_logits = torch.cat([model(**s).logits[:, -1].float() for s in singles])
        batched_tokens = model.generate(**batch, **greedy)[:, -new_tokens:]
        single_tokens = [model.generate(**s, **greedy)[0, -new_tokens:] for s in singles]
    diff = (batched_logits - single_logits).abs().max().item()
    top2 = single_logits.topk(2).values
    gaps = (top2[:, 0] - top2[:, 1]).cpu().numpy()
    first_same = int((batched_logits.argmax(-1) == single_logits.argmax(-1)).sum())
    same = sum(torch.equal(a, b) for a, b in zip(batched_tokens, single_tokens))
    return (f"first-step logits max abs diff {diff:.3g} (logit std {single_logits.std().item():.3g}); top-1/top-2 gap "
            f"per clip min {gaps.min():.3g} median {np.median(gaps):.3g}; same first token {first_same}/{len(clips)}; "
            f"same {new_tokens} greedy tokens {same}/{len(clips)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--new-tokens", type=int, default=16)
    args = parser.parse_args()
    device = torch.device(args.device)
    clips = make_clips(np.random.default_rng(0))
    model, processor = build_model(args.size, device, torch.float32)
    print(f"size {args.size}, {device}: LLM float32: {compare(model, processor, clips, device, args.new_tokens)}",
          flush=True)
    cast_language_model(model, torch.bfloat16)
    print(f"size {args.size}, {device}: LLM bfloat16: {compare(model, processor, clips, device, args.new_tokens)}")


if __name__ == "__main__":
    main()
