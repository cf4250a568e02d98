"""Labelling a corpus with C2SER through `run_inference`, one process, random weights: wall time, clips/s, speed
against real time and peak memory per mode, and on a known GPU the fraction of the roofline reached.

    python bench/bench_inference.py [--size small|full] [--device cuda] [--dtype bfloat16] [--clips 1400]
                                    [--batch-size auto] [--new-tokens 20] [--modes scores,scores-1lang,greedy]
                                    [--encoder-precision fp32|tf32|bf16] [--compile] [--summary FILE]

The corpus imitates Emo-Emilia (the paper's Table III): 7 emotions × Chinese and English in equal shares, each
clip's duration drawn from a log-normal (sigma 0.5) whose mean is that emotion and language's mean duration in
Table III (7.3 s Chinese, 9.6 s English overall), clipped to Emilia's 3-30 s segments. Modes: `scores` (the seven
probabilities, both answer languages), `scores-1lang` (each clip's own language), `greedy` (an implicit answer of
exactly --new-tokens tokens). The first mode listed is the baseline of the printed ratios.

Roofline (GPUs in the table below): a lower bound on the time of each mode, the language model's prefill and
scoring-tree FLOPs at the bf16 tensor peak, the encoders' FLOPs at the fp32 peak (TF32's with
--encoder-precision tf32, bf16's with bf16), and each decoding step reading every language-model weight once at
the memory bandwidth; the fraction printed is that bound over the measured wall time. FLOPs are counted as 2 per
multiply-add of the matrix products and attention; element-wise work is left out.
"""

import argparse
import math
import sys
import time

import numpy as np
import torch

from bench_c2ser import build_model
from summary import emit

from c2ser_hf.batch_sizes import c2ser_batch_size, padding_budget, plan_batches
from c2ser_hf.inference import run_inference
from c2ser_hf.modeling.continuation_scoring import tree_size
from c2ser_hf.processing.processing_c2ser import PROMPTS

# mean seconds per clip of each emotion, Chinese and English (Table III of the paper: durations of 100 clips)
EMO_EMILIA_MEAN_SECONDS = {
    "anger": (8.59, 10.43), "happiness": (7.39, 10.72), "neutral": (8.05, 7.10), "sadness": (7.94, 12.08),
    "surprise": (7.21, 8.37), "disgust": (6.35, 9.46), "fear": (8.59, 8.78),
}
# dense bf16 tensor, fp32 (no TF32), TF32 tensor TFLOPS; memory TB/s, by device name
PEAKS = {"H200": (989, 67, 495, 4.8), "H100 PCIe": (756, 51, 378, 2.0), "H100": (989, 67, 495, 3.35),
         "A100": (312, 19.5, 156, 2.0)}
MODES = ("scores", "scores-1lang", "greedy")


def corpus(count: int, rng) -> tuple[list[np.ndarray], list[str]]:
    """`count` clips (noise and tones alternately) with Emo-Emilia's duration spread, and their languages."""
    clips, languages = [], []
    for k in range(count):
        emotion = list(EMO_EMILIA_MEAN_SECONDS)[k % 7]
        language = ("zh", "en")[(k // 7) % 2]
        mean = EMO_EMILIA_MEAN_SECONDS[emotion][language == "en"]
        seconds = float(np.clip(rng.lognormal(math.log(mean) - 0.125, 0.5), 3.0, 30.0))
        t = np.arange(int(seconds * 16000)) / 16000
        clip = rng.normal(0, 0.1, t.shape) if k % 2 else 0.3 * np.sin(2 * np.pi * rng.uniform(100, 800) * t)
        clips.append(clip.astype(np.float32))
        languages.append(language)
    return clips, languages


def parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


def flops(model, processor, clips, trees: list[int]) -> tuple[float, float]:
    """(language-model prefill + scoring-tree FLOPs, encoder FLOPs) over the corpus; `trees`: the scoring tree's
    tokens per clip (0 when not scoring)."""
    inner = model.model
    text = model.config.text_config
    llm = parameters(inner.language_model) - inner.language_model.get_input_embeddings().weight.numel()
    head = parameters(model.lm_head)
    audio, acoustic = model.config.audio_config, model.config.acoustic_config
    whisper_layers = parameters(inner.audio_tower.layers)
    acoustic_layers = parameters(inner.acoustic_tower.encoder.layers)
    cnn_per_sample = sum(c_in * c_out * k / math.prod(acoustic.conv_stride[: i + 1]) for i, (c_in, c_out, k) in
                         enumerate(zip((1, *acoustic.conv_dim[:-1]), acoustic.conv_dim, acoustic.conv_kernel)))
    prompt = len(processor.tokenizer(PROMPTS["implicit"], add_special_tokens=False)["input_ids"])
    llm_flops = encoder_flops = 0.0
    for clip, tree in zip(clips, trees):
        mel = len(clip) // 160
        frames = math.ceil(mel / 2)
        speech = int(processor.speech_lengths(mel))
        context = prompt + speech
        llm_flops += 2 * llm * (context + tree) + 2 * head * (1 + tree)
        llm_flops += 4 * text.num_hidden_layers * text.hidden_size * (context**2 / 2 + tree * (context + tree / 2))
        acoustic_frames = len(clip) // acoustic.inputs_to_logits_ratio + acoustic.num_extra_tokens
        encoder_flops += (2 * whisper_layers * frames + 4 * audio.encoder_layers * audio.d_model * frames**2
                          + 2 * (80 * mel + audio.d_model * frames) * 3 * audio.d_model
                          + 2 * acoustic_layers * acoustic_frames
                          + 4 * acoustic.num_hidden_layers * acoustic.hidden_size * acoustic_frames**2
                          + 2 * cnn_per_sample * len(clip))
    return llm_flops, encoder_flops


def roofline_seconds(peaks, llm_flops, encoder_flops, decode_steps, llm_bytes, precision) -> float:
    bf16, fp32, tf32, bandwidth = peaks
    encoder_peak = {"fp32": fp32, "tf32": tf32, "bf16": bf16}[precision]
    return llm_flops / (bf16 * 1e12) + encoder_flops / (encoder_peak * 1e12) + decode_steps * llm_bytes / (
        bandwidth * 1e12)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", choices=("tiny", "small", "full"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--new-tokens", type=int, default=20)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--encoder-precision", default="fp32", choices=("fp32", "tf32", "bf16"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoders and the link")
    parser.add_argument("--summary")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name() if cuda else f"{torch.get_num_threads()} threads"
    peaks = next((value for key, value in PEAKS.items() if key in name), None) if cuda else None

    model, processor = build_model(args.size, device, getattr(torch, args.dtype))
    model.set_encoder_precision(args.encoder_precision)
    if args.compile:
        model.compile_encoders()
    clips, languages = corpus(args.clips, np.random.default_rng(0))
    audio_seconds = sum(map(len, clips)) / 16000
    llm_bytes = sum(p.numel() * p.element_size() for p in model.model.language_model.parameters()) + sum(
        p.numel() * p.element_size() for p in model.lm_head.parameters())
    print(f"device: {device} ({name}), size {args.size}, LLM {args.dtype}, encoders {args.encoder_precision}"
          f"{', compiled' if args.compile else ''}; {len(clips)} clips, {audio_seconds / 3600:.2f} h of audio "
          f"({min(map(len, clips)) / 16000:.1f}-{max(map(len, clips)) / 16000:.1f} s)")
    summary = {"bench": "inference", "device": str(device), "device_name": name, "size": args.size,
               "dtype": args.dtype, "encoder_precision": args.encoder_precision, "compile": args.compile,
               "clips": len(clips), "audio_s": round(audio_seconds, 1), "modes": {}}
    greedy = dict(num_beams=1, do_sample=False, repetition_penalty=1.0, max_new_tokens=args.new_tokens,
                  min_new_tokens=args.new_tokens)
    baseline = None
    for mode in args.modes.split(","):
        kwargs = {"greedy": dict(mode="implicit", **greedy), "scores": dict(mode=None, scores=True),
                  "scores-1lang": dict(mode=None, scores=True, answer_language=languages)}[mode]
        generating = mode == "greedy"
        size = args.batch_size
        if size == "auto":
            size = c2ser_batch_size(model, processor, max(map(len, clips)), greedy if generating else None,
                                    not generating)
        size = int(size)
        # as run_inference plans them: by length, and by answer language when scoring in each clip's own
        groups = [[c for c, lang in zip(clips, languages) if lang == g] for g in sorted(set(languages))] \
            if mode == "scores-1lang" else [clips]
        batches = sum(len(plan_batches([len(c) for c in group], size, padding_budget(device))) for group in groups)
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        warm = min(size, len(clips))
        run_inference(model, processor, clips[:warm], batch_size=size,  # warm-up
                      **{**kwargs, **({"answer_language": languages[:warm]} if "answer_language" in kwargs else {})})
        sync()
        started = time.perf_counter()
        results = run_inference(model, processor, clips, batch_size=size, **kwargs)
        sync()
        wall = time.perf_counter() - started
        assert all("windows" in r for r in results)
        entry = {"batch_size": size, "batches": batches, "wall_s": round(wall, 2),
                 "clips_per_s": round(len(clips) / wall, 2), "x_real_time": round(audio_seconds / wall, 1),
                 "peak_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if cuda else None}
        trees = [0 if generating else tree_size(processor.emotion_candidates(
            language if mode == "scores-1lang" else None)[1]) for language in languages]
        llm_flops, encoder_flops = flops(model, processor, clips, trees)
        decode = args.new_tokens if generating else 0
        entry["tflop"] = round((llm_flops + encoder_flops) / 1e12, 1)
        if peaks:
            bound = roofline_seconds(peaks, llm_flops, encoder_flops, batches * decode, llm_bytes,
                                     args.encoder_precision)
            entry["roofline_s"] = round(bound, 2)
            entry["roofline_fraction"] = round(bound / wall, 3)
        baseline = baseline or wall
        line = (f"[{mode}] batch {size} ({batches} batches): {wall:.1f} s, {entry['clips_per_s']} clips/s, "
                f"{entry['x_real_time']}x real time, {wall / baseline:.2f}x the first mode")
        if cuda:
            line += f", peak {entry['peak_gib']} GiB"
        if peaks:
            line += f", roofline {entry['roofline_s']} s = {100 * entry['roofline_fraction']:.1f}% reached"
        print(line, flush=True)
        summary["modes"][mode] = entry
    emit(summary, args.summary)


if __name__ == "__main__":
    sys.exit(main())
