"""Frozen frame features of any audio encoder, extracted once per clip and cached on disk (a killed run resumes)."""

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..batch_sizes import plan_batches
from ..dataset_io import MAX_BAD_FRACTION, DatasetInputError, decode_audio, lazy_audio, tolerated
from ..extract_features import encode
from ..modeling.emotion2vec_s_frames import receptive_field_samples
from ..modeling.modeling_emotion2vec_s import Emotion2VecSModel
from ..processing.audio_input import AudioInputError


class FeatureCache:
    """One `.npy` (frames, hidden) float16 file per clip id under `root`; each appears only when complete."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, clip_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", clip_id)[:80]
        return self.root / f"{safe}-{hashlib.sha1(clip_id.encode()).hexdigest()[:10]}.npy"

    def __contains__(self, clip_id: str) -> bool:
        return self.path(clip_id).is_file()

    def load(self, clip_id: str) -> np.ndarray:
        return np.load(self.path(clip_id))

    def save(self, clip_id: str, frames: np.ndarray) -> None:
        path = self.path(clip_id)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle:
            np.save(handle, frames.astype(np.float16))
        os.replace(partial, path)


@torch.no_grad()
def frame_features(model, extractor, waveforms: list[np.ndarray], max_batch_size: int = 8, failed: dict | None = None):
    """Yield (index, last-layer frame features (frames, hidden) float32) per 16 kHz waveform. Emotion2Vec-S goes
    through the package's extraction path (`extract_features.encode`: batched by length, long inputs in windows; an
    input it cannot encode gets its reason in `failed[index]`). Other encoders are batched by length when their
    extractor gives an attention mask and the model maps sample lengths to frame lengths, else run one by one
    (encoders with group norm, such as WavLM base, change their output under padding)."""
    if isinstance(model, Emotion2VecSModel):
        for index, frames, _ in encode(model, extractor, waveforms, max_batch_size=max_batch_size, failed=failed):
            yield index, frames.numpy()
        return
    batched = getattr(extractor, "return_attention_mask", False) and hasattr(model, "_get_feat_extract_output_lengths")
    if batched:
        lengths = model._get_feat_extract_output_lengths(torch.tensor([len(w) for w in waveforms])).tolist()
        batches = plan_batches(lengths, max_batch_size)
    else:
        batches = [[index] for index in range(len(waveforms))]
    for batch in batches:
        inputs = extractor([waveforms[i] for i in batch], sampling_rate=16000, return_tensors="pt").to(model.device)
        hidden = model(**inputs).last_hidden_state.float().cpu()
        for row, index in enumerate(batch):
            frames = hidden[row, : lengths[index]] if batched else hidden[row]
            yield index, frames.numpy()


@dataclass
class CacheReport:
    computed: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # clip id -> reason


def cache_features(model, extractor, rows, cache: FeatureCache, batch_size: int = 8, chunk: int = 64,
                   progress: bool = True) -> CacheReport:
    """Features of every row (`id`, `audio`) not yet in `cache`; a clip that cannot be decoded is reported by id and
    left out, the others go on (`check_usable` then decides whether a run may go on without them)."""
    report = CacheReport()
    rows, audio = lazy_audio(rows)  # decoded below, per clip, so a broken one is named instead of ending the run
    todo = [index for index, clip_id in enumerate(rows["id"]) if clip_id not in cache]
    report.reused = len(rows) - len(todo)
    min_samples = getattr(extractor, "min_samples", None) or receptive_field_samples(model.config)
    with tqdm(total=len(todo), disable=not progress, unit="clip", desc="features") as bar:
        for start in range(0, len(todo), chunk):
            indices = todo[start : start + chunk]
            ids, waveforms = [], []
            for index in indices:
                clip_id = rows[index]["id"]
                try:
                    waveforms.append(decode_audio(rows[index]["audio"], f"clip {clip_id}", audio, min_samples))
                    ids.append(clip_id)
                except AudioInputError as error:
                    report.failed[clip_id] = str(error)
            unencoded = {}
            for position, frames in frame_features(model, extractor, waveforms, batch_size, failed=unencoded):
                cache.save(ids[position], frames)
                report.computed += 1
            report.failed.update({ids[position]: f"clip {ids[position]}: {reason}"
                                  for position, reason in unencoded.items()})
            bar.update(len(indices))
    return report


def check_usable(failed: dict[str, str], clips: set[str], dataset: str,
                 max_bad_fraction: float = MAX_BAD_FRACTION) -> None:
    """Refuse, naming them, more failed clips (id -> reason) than `max_bad_fraction` of `clips` tolerates
    (`dataset_io.tolerated`); fewer are left out, each already named."""
    if len(failed) > tolerated(len(clips), max_bad_fraction):
        shown = ", ".join(sorted(failed)[:20]) + (", …" if len(failed) > 20 else "")
        raise DatasetInputError(f"dataset {dataset}: {len(failed)} of {len(clips)} clips cannot be used, more than "
                                f"{max_bad_fraction:.0%}: {shown} (first: {failed[sorted(failed)[0]]})")
