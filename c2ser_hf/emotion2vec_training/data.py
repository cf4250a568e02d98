"""Training data for Emotion2Vec-S pretraining: labelled and unlabelled corpora mixed, and the batch collator.

Each dataset entry of a recipe names a `datasets.load_dataset` source (a `prepare-data` folder, a Hub id, an
`audiofolder`, ...); its clips are labelled by its label column (the 7 emotions by name) or unlabelled (-100).
"""

import logging
import zlib

import numpy as np
import torch

from ..dataset_io import decode_audio, lazy_audio, open_dataset, readable_rows, row_name
from ..modeling.modeling_emotion2vec_s_pretraining import UNLABELLED
from ..processing.audio_input import AudioInputError
from ..processing.emotion_parsing import EMOTIONS

logger = logging.getLogger(__name__)

LOAD_KEYS = ("path", "name", "split", "data_dir", "data_files", "revision")
SAMPLING_RATE = 16000
DITHER = 2.0**-15  # one step of 16-bit audio


def emotion_index(value, names: list[str] | None, source: str) -> int:
    """The canonical emotion index of a label value (a class name, or a ClassLabel index with its `names`)."""
    if value is None:
        return UNLABELLED
    name = names[value] if names is not None and isinstance(value, (int, np.integer)) else value
    if name not in EMOTIONS:
        raise ValueError(f"{source}: label {name!r} is not one of the 7 emotions {list(EMOTIONS)}")
    return EMOTIONS.index(name)


def load_dataset_entry(entry: dict, streaming: bool = False, max_bad_fraction: float = 0.01,
                       skipped: list | None = None):
    """One recipe entry -> a dataset with columns `audio` (16 kHz, read undecoded: the collator decodes each clip)
    and `labels` (emotion index or -100). Clips that cannot be opened are left out, each named
    (`dataset_io.readable_rows`; more than `max_bad_fraction` of them stops the run); their names are added to
    `skipped` when given.

    `label_column` (default `emotion` when the dataset has it) names the labels; `null` marks the corpus unlabelled.
    Other keys are `load_dataset` arguments (`path`, `name`, `split` (default train), `data_dir`, `data_files`)."""
    import datasets

    if not isinstance(entry, dict) or "path" not in entry:
        raise ValueError(f"dataset entry {entry!r}: give a mapping with at least `path`")
    unknown = sorted(set(entry) - set(LOAD_KEYS) - {"label_column", "audio_column"})
    if unknown:
        raise ValueError(f"dataset entry {entry['path']!r}: unknown keys {unknown}")
    source, split = entry["path"], entry.get("split", "train")
    kwargs = {key: entry[key] for key in ("data_dir", "data_files", "revision") if key in entry}
    dataset = open_dataset(source, entry.get("name"), split, streaming=streaming, **kwargs)[split]
    columns = dataset.column_names or list(dataset.features or {})
    audio_column = entry.get("audio_column", "audio")
    if audio_column not in columns:
        raise ValueError(f"dataset {source!r} has no audio column {audio_column!r} (columns: {columns})")
    label_column = entry.get("label_column", "emotion" if "emotion" in columns else None)
    if label_column is not None and label_column not in columns:
        raise ValueError(f"dataset {source!r} has no label column {label_column!r} (columns: {columns})")
    feature = (dataset.features or {}).get(label_column)
    names = getattr(feature, "names", None)

    dataset = lazy_audio(dataset.cast_column(audio_column, datasets.Audio(sampling_rate=SAMPLING_RATE)),
                         audio_column)[0]
    if streaming:
        def relabel(row):
            return {"labels": emotion_index(row[label_column], names, source) if label_column else UNLABELLED}

        keep = [audio_column] + ([label_column] if label_column else [])
        features = datasets.Features({audio_column: dataset.features[audio_column], "labels": datasets.Value("int64")})
        # declared features: the mapped rows are not re-inferred (a decoded audio value cannot be)
        dataset = dataset.select_columns(keep).map(
            relabel, remove_columns=[label_column] if label_column else None, features=features
        )
    else:
        dataset, bad = readable_rows(dataset, f"{source!r}", audio_column, max_bad_fraction)
        if skipped is not None:
            skipped += bad
        values = dataset[label_column] if label_column else [None] * len(dataset)
        labels = [emotion_index(value, names, source) for value in values]
        dataset = dataset.select_columns([audio_column]).add_column("labels", labels)
    if audio_column != "audio":
        dataset = dataset.rename_column(audio_column, "audio")
    return dataset


def load_pretraining_dataset(entries: list[dict], streaming: bool = False, seed: int = 0,
                             max_bad_fraction: float = 0.01, skipped: list | None = None):
    """All recipe entries as one dataset: concatenated (the Trainer shuffles it), or, when streaming, interleaved
    (each clip once) and buffer-shuffled. The rows left out as unreadable are added to `skipped` when given."""
    import datasets

    if not entries:
        raise ValueError("the recipe names no datasets")
    parts = [load_dataset_entry(entry, streaming, max_bad_fraction, skipped) for entry in entries]
    if streaming:
        mixed = datasets.interleave_datasets(parts, stopping_strategy="all_exhausted_without_replacement", seed=seed)
        return mixed.shuffle(seed=seed, buffer_size=1000)
    labels = datasets.Value("int64")
    return datasets.concatenate_datasets([part.cast_column("labels", labels) for part in parts])


class PretrainingCollator:
    """Rows (`audio`, `labels`) -> `input_values`, `attention_mask` (the model's feature extractor: padding and its
    waveform normalisation) and `labels`. Clips over `max_seconds` are cropped to a window whose start depends only
    on the clip and `seed` (no random state is drawn here, so resumed runs see the same batches); every clip gets
    Gaussian noise of standard deviation `dither` (default one 16-bit step), drawn from the clip and `seed` too;
    clips that cannot be decoded or are shorter than the extractor's minimum are left out with a warning.

    Why the dither (docs/emotion2vec-training.md#silence): digital silence, runs of exact zeros, makes the LayerNorm
    of each CNN layer of a new encoder see a constant input, whose backward multiplies by 1/sqrt(eps) (316) per
    layer; through 7 layers the gradient overflows and training diverges at its first step."""

    def __init__(self, feature_extractor, max_seconds: float | None = 20.0, seed: int = 0, dither: float = DITHER):
        self.feature_extractor = feature_extractor
        self.max_samples = None if not max_seconds else int(max_seconds * feature_extractor.sampling_rate)
        self.seed = seed
        self.dither = dither

    @property
    def _audio(self):
        """The corpora's `datasets.Audio` (16 kHz), which decodes the undecoded rows `load_dataset_entry` gives."""
        import datasets

        return datasets.Audio(sampling_rate=SAMPLING_RATE)

    def __call__(self, rows: list[dict]) -> dict:
        waveforms, labels, problems = [], [], []
        for number, row in enumerate(rows):
            try:
                name = row_name(row, position=number)
                waveform = decode_audio(row["audio"], name, self._audio, self.feature_extractor.min_samples)
            except AudioInputError as error:
                problems.append(str(error))
                logger.warning("left out of the batch: %s", error)
                continue
            waveforms.append(self._dither(self._crop(waveform)))
            labels.append(int(row["labels"]))
        if not waveforms:
            raise ValueError(f"no usable clip in a batch: {'; '.join(problems)}")
        inputs = self.feature_extractor(
            waveforms, sampling_rate=self.feature_extractor.sampling_rate, return_tensors="pt"
        )
        return {
            "input_values": inputs["input_values"],
            "attention_mask": inputs["attention_mask"],
            "labels": torch.tensor(labels, dtype=torch.long),
        }

    def _crop(self, waveform: np.ndarray) -> np.ndarray:
        if self.max_samples is None or len(waveform) <= self.max_samples:
            return waveform
        key = zlib.crc32(waveform[: self.max_samples].tobytes(), self.seed)
        start = key % (len(waveform) - self.max_samples + 1)
        return waveform[start : start + self.max_samples]

    def _dither(self, waveform: np.ndarray) -> np.ndarray:
        if not self.dither:
            return waveform
        noise = np.random.default_rng(zlib.crc32(waveform.tobytes(), self.seed)).normal(0, self.dither, len(waveform))
        return waveform + noise.astype(waveform.dtype)
