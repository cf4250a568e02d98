"""C2SER end to end on random weights, one process; baselines are measured in the same run.

    python bench/bench_c2ser.py [--size small] [--device cuda] [--dtype bfloat16] [--repeats 3] [--new-tokens 20]
                                [--summary FILE]

Prints times and ratios (>1 means the first-named path is slower):
  1. 8 clips of 2-9 s, greedy, exactly --new-tokens new tokens each (min = max, so EOS cannot shorten one path):
     processor + generate one clip at a time vs all 8 as one batch, and whether both give the same tokens;
  2. the same 8 clips as one prepared batch: `emotion_probabilities` vs `generate` with the released decoding scaled
     to the bench (4 beams, repetition penalty 1.05, --new-tokens tokens) and vs greedy;
  3. the released size built on the meta device: parameters and bf16 / fp32 memory per part, LoRA r=8 computed from
     the layer shapes, against the element counts of the official checkpoint. Checks that fail there end the run
     with status 1.
Speed does not depend on the weights' values. Rounds alternate between the paths; each time is a median.
`--size full` builds the released shapes straight on the device with the tiny offline tokenizer (the LLM keeps
Qwen2-7B's 152,064-row vocabulary; prompts tokenize longer than with Qwen2's own tokenizer). `--dtype bfloat16` puts
the language model and its head in bf16, the rest stays fp32, as `from_pretrained(dtype=...)` does; there, batched
and one-by-one tokens may differ by rounding, so their agreement is reported, not required. On CUDA, memory after
loading and the peaks of [1] and [2] are printed. Ends with one JSON line (`SUMMARY`).
"""

import argparse
import sys
import time

import numpy as np
import torch

from c2ser_hf.model_sizes import c2ser_config
from c2ser_hf.modeling import C2SERForConditionalGeneration
from c2ser_hf.new_model import build_random_c2ser
from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer
from summary import emit
from timing import timed

SMALL_LLM_TARGET = 50_000_000
BATCHING_TARGET = 2.0
LORA_RANK = 8
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj")
# element counts of the released checkpoint, per part (its state dict built from the official code)
OFFICIAL_ENCODER = 307_216_384  # incl. `pe` 1,536,000 (our Whisper keeps positions as an embedding of that size)
# down_sample_2 + speech_transformer (incl. pe 5,120,000) + speech_llama_proj + the 2 used rows of speech_token_emded
OFFICIAL_LINK = 9_440_256 + 43_969_536 + 3_673_600 + 2 * 3584
OFFICIAL_QWEN2_7B = 7_615_616_512
OFFICIAL_LORA = 15_138_816
GB = 1e9
GIB = 2**30


def build_model(size: str, device: torch.device, dtype: torch.dtype, seed: int = 0):
    """(model, processor) with random weights, allocated and initialised on `device` (the released size never exists
    in fp32 on the CPU); then the parameters outside `_keep_in_fp32_modules_strict` are cast to `dtype`, as
    `from_pretrained(dtype=...)` leaves them. Buffers stay fp32 there too (RoPE's inv_freq would lose precision)."""
    tokenizer = build_tiny_qwen2_tokenizer()  # also for `full`: the Qwen2 tokenizer is not available offline
    with torch.device(device):
        model, processor = build_random_c2ser(size, seed, tokenizer=tokenizer)
    cast_language_model(model, dtype)
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the fp32 copies of the cast modules
    return model, processor


def cast_language_model(model, dtype: torch.dtype) -> None:
    """Cast the parameters outside `_keep_in_fp32_modules_strict` (the LLM and its head) to `dtype`."""
    keep = set(model._keep_in_fp32_modules_strict)
    for name, module in [*model.model.named_children(), ("lm_head", model.lm_head)]:
        if name not in keep:
            for param in module.parameters():
                param.data = param.data.to(dtype)


def cuda_peak_gib(device: torch.device) -> float | None:
    """Peak allocated GiB since the last call (None off CUDA); starts the next interval."""
    if device.type != "cuda":
        return None
    peak = torch.cuda.max_memory_allocated(device) / GIB
    torch.cuda.reset_peak_memory_stats(device)
    return round(peak, 2)


def make_clips(rng) -> list[np.ndarray]:
    """8 float32 16 kHz clips of 2..9 s: noise and tones alternately."""
    clips = []
    for i, seconds in enumerate(np.linspace(2, 9, 8)):
        t = np.arange(int(seconds * 16000)) / 16000
        if i % 2:
            clip = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 800) * t) + rng.normal(0, 0.01, t.shape)
        else:
            clip = rng.normal(0, 0.1, t.shape)
        clips.append(clip.astype(np.float32))
    return clips


def bench_batching(model, processor, clips, device, greedy, repeats, sync, failures, size, summary):
    llm = sum(p.numel() for p in model.model.language_model.parameters())
    line = f"[1] LLM (language_model) {llm:,} parameters"
    if llm < SMALL_LLM_TARGET:
        line += f"  !!! BELOW THE {SMALL_LLM_TARGET:,} TARGET (model_sizes '{size}') !!!"
        failures.append(f"small LLM {llm:,} < {SMALL_LLM_TARGET:,} parameters")
    print(line)

    def batched():
        return model.generate(**processor(clips, mode="implicit").to(device), **greedy)

    def one_by_one():
        outputs = []
        for clip in clips:
            outputs.append(model.generate(**processor(clip, mode="implicit").to(device), **greedy))
        return outputs

    with torch.inference_mode():
        t, out = timed({"loop": one_by_one, "batched": batched}, repeats, sync)
    new = greedy["max_new_tokens"]
    same = sum(torch.equal(row[-new:], single[0, -new:]) for row, single in zip(out["batched"], out["loop"]))
    ratio = t["loop"] / t["batched"]
    tokens = len(clips) * new
    print(f"    8 clips 2-9 s, greedy, {new} new tokens each (processor + generate): one-by-one {t['loop']:.2f} s "
          f"({tokens / t['loop']:.0f} tok/s) | batched {t['batched']:.2f} s ({tokens / t['batched']:.0f} tok/s) | "
          f"ratio loop/batched = {ratio:.2f}x "
          f"(target >= {BATCHING_TARGET:.0f}x: {'met' if ratio >= BATCHING_TARGET else 'NOT MET'}) | "
          f"same tokens {same}/8")
    if ratio < BATCHING_TARGET:
        failures.append(f"batching {ratio:.2f}x < {BATCHING_TARGET:.0f}x")
    # in fp32 the paths must agree; in bf16, padding changes matmul shapes and so the rounding
    if same < len(clips) and model.model.language_model.dtype == torch.float32:
        failures.append(f"batched and one-by-one greedy tokens differ on {len(clips) - same}/8 clips")
    summary.update(llm_params=llm, greedy_loop_s=round(t["loop"], 3), greedy_batched_s=round(t["batched"], 3),
                   greedy_ratio_loop_over_batched=round(ratio, 3), greedy_loop_tok_s=round(tokens / t["loop"], 1),
                   greedy_batched_tok_s=round(tokens / t["batched"], 1), same_tokens_fraction=same / len(clips))


def bench_scores(model, processor, clips, device, greedy, repeats, sync, summary):
    inputs = processor(clips, mode="implicit").to(device)
    emotions, candidates = processor.emotion_candidates()
    new = greedy["max_new_tokens"]
    beams = dict(num_beams=4, do_sample=False, repetition_penalty=1.05, max_new_tokens=new, min_new_tokens=new)
    with torch.inference_mode():
        t, _ = timed(
            {
                "scores": lambda: model.emotion_probabilities(emotions, candidates, **inputs),
                "beam": lambda: model.generate(**inputs, **beams),
                "greedy": lambda: model.generate(**inputs, **greedy),
            },
            repeats,
            sync,
        )
    lengths = [len(c) for c in candidates]
    print(f"[2] one prepared batch of 8: emotion_probabilities ({len(candidates)} candidates of "
          f"{min(lengths)}-{max(lengths)} tokens) {t['scores']:.2f} s | generate 4 beams, rep. 1.05, {new} tokens "
          f"{t['beam']:.2f} s (beam/scores = {t['beam'] / t['scores']:.2f}x) | greedy {t['greedy']:.2f} s "
          f"(greedy/scores = {t['greedy'] / t['scores']:.2f}x)")
    summary.update(scores_s=round(t["scores"], 3), beam4_s=round(t["beam"], 3), greedy_batch_s=round(t["greedy"], 3))


def persistent_buffers(modules) -> int:
    return sum(
        buffer.numel()
        for module in modules
        for sub in module.modules()
        for name, buffer in sub._buffers.items()
        if buffer is not None and name not in sub._non_persistent_buffers_set
    )


def lora_parameters(language_model, rank: int) -> int:
    """Analytic LoRA size: r·(in + out) for every adapted Linear of every decoder layer."""
    total = 0
    for layer in language_model.layers:
        for name, module in layer.named_modules():
            if name.rsplit(".", 1)[-1] in LORA_TARGETS:
                total += rank * (module.in_features + module.out_features)
    return total


def bench_accounting(failures):
    with torch.device("meta"):
        model = C2SERForConditionalGeneration(c2ser_config("full"))
    inner = model.model
    groups = {
        "Whisper encoder": [inner.audio_tower],
        "Emotion2Vec-S": [inner.acoustic_tower],
        "link (downsampler+link+proj+BOS/EOS)": [inner.downsampler, inner.link, inner.projector, inner.speech_boundary],
        "LLM (language_model + lm_head)": [inner.language_model, model.lm_head],
    }
    rows = {name: (sum(p.numel() for m in mods for p in m.parameters()), persistent_buffers(mods))
            for name, mods in groups.items()}
    if sum(params for params, _ in rows.values()) != sum(p.numel() for p in model.parameters()):
        raise RuntimeError("the parts do not cover every parameter of the model")
    rows["LoRA r=8 q/k/v/o/gate/down (analytic)"] = (lora_parameters(inner.language_model, LORA_RANK), 0)
    references = {
        "Whisper encoder": (OFFICIAL_ENCODER, "encoder incl. pe"),
        "Emotion2Vec-S": (None, "~93.17 M (not in the checkpoint)"),
        "link (downsampler+link+proj+BOS/EOS)": (OFFICIAL_LINK, "ds+transformer incl. pe+proj+2 rows"),
        "LLM (language_model + lm_head)": (OFFICIAL_QWEN2_7B, "Qwen2-7B"),
        "LoRA r=8 q/k/v/o/gate/down (analytic)": (OFFICIAL_LORA, "LoRA"),
    }
    text = model.config.text_config
    print(f"[3] released size on meta (text: hidden {text.hidden_size}, {text.num_hidden_layers} layers, "
          f"FFN {text.intermediate_size}, vocab {text.vocab_size}); elements = params + persistent buffers; GB = 1e9 B")
    print(f"    {'part':39s}{'params':>15s}{'buffers':>11s}{'bf16 GB':>9s}{'fp32 GB':>9s}   official elements")
    for name, (params, buffers) in rows.items():
        elements = params + buffers
        reference, label = references[name]
        if reference is None:
            check = label
        else:
            ok = elements == reference
            check = f"{reference:,} {label}: {'ok' if ok else 'MISMATCH'}"
            if not ok:
                failures.append(f"{name}: {elements:,} elements vs the official {reference:,}")
        print(f"    {name:39s}{params:15,d}{buffers:11,d}{elements * 2 / GB:9.3f}{elements * 4 / GB:9.3f}   {check}")
    encoders = sum(sum(rows[name]) for name in list(groups)[:3])
    llm = sum(rows["LLM (language_model + lm_head)"])
    lora = rows["LoRA r=8 q/k/v/o/gate/down (analytic)"][0]
    total = encoders + llm + lora
    print(f"    {'total':39s}{sum(r[0] for r in rows.values()):15,d}{sum(r[1] for r in rows.values()):11,d}"
          f"{total * 2 / GB:9.3f}{total * 4 / GB:9.3f}")
    print(f"    runtime (encoders+link fp32 {encoders * 4 / GB:.3f} GB + LLM and LoRA bf16 "
          f"{(llm + lora) * 2 / GB:.3f} GB) = {(encoders * 4 + (llm + lora) * 2) / GB:.3f} GB of weights, "
          "before activations and KV cache")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                        help="of the language model and its head; encoders and link stay fp32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=20)
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"device: {device} ({name}), size {args.size}, LLM dtype {args.dtype}, repeats {args.repeats}")
    summary = {"bench": "c2ser", "device": str(device), "device_name": name, "size": args.size, "dtype": args.dtype,
               "new_tokens": args.new_tokens, "repeats": args.repeats}

    start = time.perf_counter()
    model, processor = build_model(args.size, device, getattr(torch, args.dtype))
    sync()
    params = sum(p.numel() for p in model.parameters())
    summary.update(build_s=round(time.perf_counter() - start, 1), params=params, load_peak_gib=cuda_peak_gib(device))
    line = f"[0] built in {summary['build_s']} s: {params:,} parameters"
    if device.type == "cuda":
        summary["after_load_gib"] = round(torch.cuda.memory_allocated(device) / GIB, 2)
        line += f", {summary['after_load_gib']} GiB allocated after load (peak while building {summary['load_peak_gib']} GiB)"
    print(line)
    clips = make_clips(np.random.default_rng(0))
    greedy = dict(num_beams=1, do_sample=False, repetition_penalty=1.0, max_new_tokens=args.new_tokens,
                  min_new_tokens=args.new_tokens)
    failures = []
    bench_batching(model, processor, clips, device, greedy, args.repeats, sync, failures, args.size, summary)
    summary["generate_peak_gib"] = cuda_peak_gib(device)
    bench_scores(model, processor, clips, device, greedy, args.repeats, sync, summary)
    summary["scores_beam_peak_gib"] = cuda_peak_gib(device)
    if device.type == "cuda":
        print(f"    peak GiB allocated: [1] {summary['generate_peak_gib']}, [2] {summary['scores_beam_peak_gib']}")
    del model
    accounting_failures = []
    bench_accounting(accounting_failures)
    for failure in failures:
        print(f"NOT MET: {failure}")
    summary.update(not_met=failures, accounting_failures=accounting_failures)
    emit(summary, args.summary)
    if accounting_failures:
        sys.exit("FAILED: " + "; ".join(accounting_failures))


if __name__ == "__main__":
    main()
