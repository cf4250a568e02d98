"""Batched Emotion2Vec-S feature extraction: length-sorted batches with bounded padding, one `.npy` per input."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .processing.audio_input import AudioInputError, to_mono_16k

LEVELS = ("frame", "utterance")


def plan_batches(lengths: list[int], max_batch_size: int = 8, max_padding: float = 0.15) -> list[list[int]]:
    """Group item indices longest first; a batch closes when it is full or when adding the next item would make
    padding exceed `max_padding` of the batch's computed frames (batch size × longest)."""
    batches, current, current_total = [], [], 0
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if current:
            computed = lengths[current[0]] * (len(current) + 1)
            padded = 1 - (current_total + lengths[index]) / computed
            if len(current) >= max_batch_size or padded > max_padding:
                batches.append(current)
                current, current_total = [], 0
        current.append(index)
        current_total += lengths[index]
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def encode(
    model,
    feature_extractor,
    waveforms: list[np.ndarray],
    utterance_source: str | None = None,
    max_batch_size: int = 8,
    max_padding: float = 0.15,
    progress: bool = False,
):
    """Yield (index, frame features (T, D), utterance features) for 16 kHz mono waveforms, in batch order."""
    device = model.device
    lengths = model._get_feat_extract_output_lengths(torch.tensor([len(w) for w in waveforms])).tolist()
    with tqdm(total=len(waveforms), disable=not progress, unit="file") as bar:
        for batch in plan_batches(lengths, max_batch_size, max_padding):
            inputs = feature_extractor(
                [waveforms[i] for i in batch], sampling_rate=feature_extractor.sampling_rate, return_tensors="pt"
            ).to(device)
            out = model(**inputs, utterance_source=utterance_source)
            for row, index in enumerate(batch):
                frames = out.last_hidden_state[row, : lengths[index]].float().cpu()
                yield index, frames, out.utterance_features[row].float().cpu()
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
) -> ExtractionReport:
    """Write `<out_dir>/<stem>.npy` per input: frame features (T, D) or utterance features. A file that cannot be
    used is reported by name and the others go on. Each `.npy` appears only when complete."""
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
    for start in range(0, len(todo), chunk_size):
        names, waveforms = [], []
        for path in todo[start : start + chunk_size]:
            try:
                waveforms.append(to_mono_16k(path, min_samples=model.config.receptive_field))
                names.append(path)
            except AudioInputError as error:
                report.failed[path] = str(error)
                bar.update(1)
        for index, frames, utterance in encode(model, feature_extractor, waveforms, utterance_source, max_batch_size):
            target = out_dir / f"{Path(names[index]).stem}.npy"
            partial = target.with_name(target.name + ".partial")
            with open(partial, "wb") as handle:
                np.save(handle, (frames if level == "frame" else utterance).numpy())
            os.replace(partial, target)
            report.written.append(target)
            bar.update(1)
    bar.close()
    return report
