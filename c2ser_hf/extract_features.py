"""Batched Emotion2Vec-S feature extraction: length-sorted batches with bounded padding, long inputs in windows,
one `.npy` per input."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .batch_sizes import acoustic_padding_budget, plan_batches
from .processing.audio_input import AudioInputError, to_mono_16k

LEVELS = ("frame", "utterance")


# Longer inputs are encoded in windows: attention over a whole input costs memory with the square of its length (a
# dense per-head ALiBi bias: 43 GB for 10 minutes), windows keep it bounded and memory linear in the length.
WINDOW_SECONDS = 30.0
# Each window adds this much audio on both sides of the frames it contributes (its core).
CONTEXT_SECONDS = 5.0
# Files decoded and held at once: at most this many samples (30 minutes at 16 kHz), or `chunk_size` files.
CHUNK_SAMPLES = 30 * 60 * 16000


def window_bounds(total: int, window: int, context: int) -> list[tuple[int, int, int, int]]:
    """(first, start, stop, last) frame indices of the windows that cover `total` frames: each computes frames
    [first, last) and keeps its core [start, stop); cores are equal (to a frame), tile the input, and have up to
    `context` frames on each side."""
    core = window - 2 * context
    if core < 1:
        raise ValueError(f"a window of {window} frames leaves no core between two contexts of {context}")
    count = -(-total // core)
    edges = [round(i * total / count) for i in range(count + 1)]
    return [(max(0, a - context), a, b, min(total, b + context)) for a, b in zip(edges[:-1], edges[1:])]


def encode_long(model, input_values: torch.Tensor, utterance_source: str | None, window_frames: int,
                context_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(frame features (T, D), utterance features) of one 1-D input, from overlapping windows (`window_bounds`)
    whose cores are stitched. Windows start on the frame hop, so the CNN frames are exactly those of the whole input;
    the positional convolution and attention see the window instead of the whole input, which changes frames most
    near a core's edge (README, extract-features). Utterance features come from the stitched frames (`mean`,
    `first_frames`) or from the windows' extra tokens averaged by core length (`extra_tokens`)."""
    config = model.config
    hop = config.inputs_to_logits_ratio
    total = int(model._get_feat_extract_output_lengths(torch.tensor(input_values.shape[-1])))
    parts, extra = [], None
    for first, start, stop, last in window_bounds(total, window_frames, context_frames):
        out = model(input_values[first * hop : config.samples_for_frames(last)][None], utterance_source="mean")
        parts.append(out.last_hidden_state[0, start - first : stop - first])
        if out.extra_tokens is not None:
            weighted = out.extra_tokens * ((stop - start) / total)
            extra = weighted if extra is None else extra + weighted
    frames = torch.cat(parts)
    mask = torch.ones(1, total, dtype=torch.bool, device=frames.device)
    utterance = model.utterance_features(frames[None], mask, extra, utterance_source or config.utterance_source)
    return frames, utterance[0]


@torch.no_grad()
def encode(
    model,
    feature_extractor,
    waveforms: list[np.ndarray],
    utterance_source: str | None = None,
    max_batch_size: int = 8,
    max_padding: float | None = None,
    progress: bool = False,
    window_seconds: float | None = WINDOW_SECONDS,
    context_seconds: float = CONTEXT_SECONDS,
    failed: dict | None = None,
):
    """Yield (index, frame features (T, D), utterance features) for 16 kHz mono waveforms, in batch order. Inputs
    longer than `window_seconds` (None: never) are encoded alone in windows (`encode_long`). An input the model
    cannot encode (out of memory, too short for `utterance_source`) is left out with its reason in `failed[index]`
    (raised when `failed` is None); when a batch fails its items are retried one by one. `max_padding` (None: by
    device, `batch_sizes.acoustic_padding_budget`) bounds the padded share of a batch's frames."""
    device = model.device
    if max_padding is None:
        max_padding = acoustic_padding_budget(device)
    frames_per_second = feature_extractor.sampling_rate / model.config.inputs_to_logits_ratio
    lengths = model._get_feat_extract_output_lengths(torch.tensor([len(w) for w in waveforms])).tolist()
    window = round(window_seconds * frames_per_second) if window_seconds else None
    long = [i for i, n in enumerate(lengths) if window and n > window]
    short = [i for i in range(len(waveforms)) if i not in long]

    def run(batch):
        inputs = feature_extractor(
            [waveforms[i] for i in batch], sampling_rate=feature_extractor.sampling_rate, return_tensors="pt"
        ).to(device)
        if batch[0] in long:
            frames, utterance = encode_long(model, inputs["input_values"][0], utterance_source, window,
                                            round(context_seconds * frames_per_second))
            return [(batch[0], frames.float().cpu(), utterance.float().cpu())]
        out = model(**inputs, utterance_source=utterance_source)
        return [(index, out.last_hidden_state[row, : lengths[index]].float().cpu(),
                 out.utterance_features[row].float().cpu()) for row, index in enumerate(batch)]

    def attempt(batch):
        try:
            return run(batch)
        except (RuntimeError, MemoryError, ValueError) as error:
            if failed is None:
                raise
            if len(batch) > 1:  # one by one, so that only the input that fails is left out
                return [result for index in batch for result in attempt([index])]
            failed[batch[0]] = f"could not be encoded ({type(error).__name__}: {' '.join(str(error).split())[:200]})"
            return []

    batches = [[short[k] for k in b] for b in plan_batches([lengths[i] for i in short], max_batch_size, max_padding)]
    with tqdm(total=len(waveforms), disable=not progress, unit="file") as bar:
        for batch in batches + [[i] for i in long]:
            yield from attempt(batch)
            bar.update(len(batch))


@dataclass
class ExtractionReport:
    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def extract_features_to_files(
    model,
    feature_extractor,
    audio_paths: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    level: str = "frame",
    utterance_source: str | None = None,
    max_batch_size: int = 8,
    chunk_size: int = 256,
    progress: bool = True,
    window_seconds: float | None = WINDOW_SECONDS,
) -> ExtractionReport:
    """Write `<out_dir>/<stem>.npy` per input: frame features (T, D) or utterance features. A file that cannot be
    used is reported by name and the others go on. Each `.npy` appears only when complete. Inputs over
    `window_seconds` are encoded in windows (`encode`)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExtractionReport()
    stems = {}
    for path in audio_paths:
        stem = Path(path).stem
        if stem in stems:
            report.failed[str(path)] = f"{path}: output name {stem}.npy is already taken by {stems[stem]}"
        else:
            stems[stem] = str(path)
    todo = list(stems.values())
    bar = tqdm(total=len(todo), disable=not progress, unit="file", desc="extract-features")
    while todo:
        names, waveforms, held = [], [], 0
        while todo and len(names) < chunk_size and held < CHUNK_SAMPLES:
            path = todo.pop(0)
            try:
                waveforms.append(to_mono_16k(path, min_samples=model.config.receptive_field))
                names.append(path)
                held += len(waveforms[-1])
            except AudioInputError as error:
                report.failed[path] = str(error)
                bar.update(1)
        failed = {}
        for index, frames, utterance in encode(model, feature_extractor, waveforms, utterance_source, max_batch_size,
                                               window_seconds=window_seconds, failed=failed):
            target = out_dir / f"{Path(names[index]).stem}.npy"
            partial = target.with_name(target.name + ".partial")
            with open(partial, "wb") as handle:
                np.save(handle, (frames if level == "frame" else utterance).numpy())
            os.replace(partial, target)
            report.written.append(target)
            bar.update(1)
        for index, reason in failed.items():
            report.failed[names[index]] = f"{names[index]}: {reason}"
            bar.update(1)
    bar.close()
    return report
