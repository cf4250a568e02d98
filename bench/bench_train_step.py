"""One C²SER training step at a given size: the recipe's trainable set (LoRA r 8 on the language model, Whisper encoder,
downsampler, link, projection and speech BOS/EOS trained fully), gradient checkpointing, the language model in bf16,
AdamW, a batch of --batch clips of --seconds s with explicit chain-of-thought targets from the collator.

    python bench/bench_train_step.py --size full --device cuda     # the released size (needs a GPU)
    python bench/bench_train_step.py --size tiny --device cpu      # a rehearsal anywhere

Prints the peak memory of a step (CUDA) against the 48 GB of the paper's A6000s, and samples/s over --steps steps
after one warm-up step. Then the same steps as training ran before the frozen Emotion2Vec-S was taken out of the
backward pass (its waveform marked as needing gradients, as transformers' feature encoder did), and the ratio. Needs
peft (and, through it, accelerate), not TRL: the step is the one the trainer runs, written out. Ends with one JSON
line (`SUMMARY`).
"""

import argparse
import statistics
import time

import numpy as np
import torch

from bench_c2ser import GIB, build_model
from summary import emit

from c2ser_hf.training.assembly import LORA_TARGETS, TRAINED_MODULES, lora_config
from c2ser_hf.training.collator import CoTCollator, select_variant

A6000_BYTES = 48 * 10**9
EXPLICIT = ("The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: “I really did not expect "
            "to see all of you here tonight, after everything that happened last year.” Based on the analysis of "
            "speech characteristics, the emotion was inferred to be surprise.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="full", choices=("tiny", "small", "full"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after the warm-up step")
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dtype = torch.bfloat16 if cuda else torch.float32  # CPUs here have no fast bf16

    from peft import get_peft_model

    model, processor = build_model(args.size, device, dtype)
    model = get_peft_model(model, lora_config(LORA_TARGETS, 8, 32, 0.1, TRAINED_MODULES))
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=5e-5, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.01)
    rng = np.random.default_rng(0)
    rows = [{"audio": {"array": rng.normal(0, 0.1, int(args.seconds * 16000)).astype(np.float32),
                       "sampling_rate": 16000}, "explicit_target": EXPLICIT, "implicit_target": "x"}
            for _ in range(args.batch)]
    batch = {k: v.to(device) for k, v in select_variant(CoTCollator(processor)(rows), explicit=True).items()}
    print(f"device {device} ({torch.cuda.get_device_name() if cuda else 'cpu'}), size {args.size}, LLM {dtype}, "
          f"batch {args.batch} × {args.seconds:g} s, {batch['input_ids'].shape[1]} positions per item, "
          f"{sum(p.numel() for p in trainable):,} trainable parameters")

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def timed() -> tuple[float, list, int]:
        """Median step time over --steps steps after a warm-up step, the losses, the peak memory (CUDA)."""
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        times, losses = [], []
        for index in range(args.steps + 1):
            sync()
            start = time.perf_counter()
            losses.append(step())
            sync()
            if index:
                times.append(time.perf_counter() - start)
        return statistics.median(times), losses, torch.cuda.max_memory_allocated(device) if cuda else 0

    seconds, losses, peak = timed()
    batch["input_values"].requires_grad_(True)  # as before: the frozen tower in the graph, its backward run each step
    before, _, peak_before = timed()
    batch["input_values"].requires_grad_(False)
    summary = {"bench": "train_step", "device": str(device), "size": args.size, "batch": args.batch,
               "seconds_audio": args.seconds, "step_s": round(seconds, 3),
               "samples_per_s": round(args.batch / seconds, 2), "losses": [round(x, 4) for x in losses],
               "step_s_with_frozen_backward": round(before, 3), "speedup": round(before / seconds, 2)}
    print(f"step {seconds:.2f} s (median of {args.steps}): {args.batch / seconds:.2f} samples/s; losses {losses}")
    print(f"with the frozen Emotion2Vec-S's backward, as before: {before:.2f} s per step; "
          f"{before / seconds:.2f}x the step without it")
    if cuda:
        summary.update(peak_gib=round(peak / GIB, 2), fits_48gb=peak < A6000_BYTES,
                       peak_gib_with_frozen_backward=round(peak_before / GIB, 2))
        print(f"peak memory {peak / GIB:.2f} GiB ({peak / 1e9:.1f} GB): "
              f"{'fits' if peak < A6000_BYTES else 'does NOT fit'} in 48 GB (with the frozen backward: "
              f"{peak_before / GIB:.2f} GiB)")
    emit(summary, args.summary)


if __name__ == "__main__":
    main()
