"""The folds a probe runs on: a prepared corpus's `fold_k` configs (EmoBox's cross-validation), or its one split."""

import numpy as np

from ..dataset_io import config_names, open_dataset
from ..processing.emotion_parsing import EMOTIONS


def fold_names(dataset: str, folds: list[str] | None) -> list[str]:
    """`folds` as given (checked), else every `fold_<k>` config of the dataset, else its default config."""
    configs = config_names(dataset)
    if folds:
        unknown = [fold for fold in folds if fold not in configs]
        if unknown:
            raise ValueError(f"dataset {dataset!r} has no config(s) {unknown}; it has {configs}")
        return list(folds)
    numbered = sorted((c for c in configs if c.startswith("fold_") and c[5:].isdigit()), key=lambda c: int(c[5:]))
    return numbered or configs[:1]


def load_fold(dataset: str, fold: str, label_column: str = "emotion"):
    """{split: Dataset} of one fold with `id`, `audio` and `label_column`; it needs `train` and `test` splits."""
    splits = open_dataset(dataset, fold)
    missing = [name for name in ("train", "test") if name not in splits]
    if missing:
        raise ValueError(f"dataset {dataset!r} config {fold!r} has no {missing} split (it has {list(splits)})")
    for name, split in splits.items():
        absent = [column for column in ("id", "audio", label_column) if column not in split.column_names]
        if absent:
            raise ValueError(f"dataset {dataset!r} config {fold!r} split {name!r} lacks column(s) {absent}")
    return splits


def label_names(split, label_column: str) -> list[str]:
    """Emotion names of a split's labels (ClassLabel indices or names), checked against the 7 emotions."""
    feature = split.features[label_column]
    values = list(split[label_column])
    names = [feature.names[v] for v in values] if hasattr(feature, "names") else values
    unknown = sorted({name for name in names if name not in EMOTIONS}, key=str)
    if unknown:
        raise ValueError(f"labels {unknown} are not among the 7 emotions {list(EMOTIONS)}")
    return names


def validation_split(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices): a seeded random `fraction` of the training rows held out for choosing
    the epoch (the paper holds out 20 % of each fold's training set)."""
    order = np.random.default_rng(seed).permutation(count)
    held = max(1, int(round(fraction * count)))
    return np.sort(order[held:]), np.sort(order[:held])
