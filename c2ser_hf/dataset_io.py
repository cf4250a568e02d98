"""Datasets in, waveforms out: the one place that opens a dataset and the one place that decodes a row's audio.

Opening: a `datasets.Dataset` / `DatasetDict` object, a `save_to_disk` folder, a local dataset folder (a
`prepare-data` or `build-cot` output, an `audiofolder`, parquet with a README), or a Hub id; whole or streamed. Every
way it can fail is one `DatasetInputError` line naming the source; a path that does not exist is never sent to the Hub.

Decoding: the value an `Audio` column holds (a torchcodec decoder, an `{"array", "sampling_rate"}` dict, undecoded
`{"bytes"}` / `{"path"}`, a file path) becomes mono float32 through the package's audio path
(`processing/audio_input.py`). `lazy_audio` keeps a dataset from decoding when a row is read (the dataset's own
decoder raises there, where no caller can name the row or leave it out), so decoding happens here, per row, named.
"""

import math
import os
from pathlib import Path

import numpy as np

from .dataset_source import DatasetInputError, check_saved, check_source, is_saved_folder
from .dataset_source import one_line as _one_line
from .processing.audio_input import AudioInputError, decoding_error, to_mono, to_mono_16k

# what `open_dataset` passes on to `datasets.load_dataset` besides the source and config
LOAD_KEYS = ("split", "data_dir", "data_files", "revision")


def _load_saved(path: Path, source: str):
    import datasets

    check_saved(path, source)
    try:
        return datasets.load_from_disk(str(path))
    except Exception as error:  # datasets' own errors here are of many kinds: each becomes one line
        raise DatasetInputError(f"dataset {source}: cannot be read as a save_to_disk folder "
                                f"({_one_line(error)})") from None


def open_dataset(source, config: str | None = None, split: str | None = None, streaming: bool = False,
                 **load_kwargs):
    """The splits of `source` as a `DatasetDict` (an `IterableDatasetDict` when `streaming`), or only `split` when
    given (still in a dict, under its name).

    `source` is a `Dataset` / `DatasetDict` (a single Dataset is named `split`, default "train"), a `save_to_disk`
    folder (no configs), a local dataset folder or a Hub id (`config` picks one of its configs; `load_kwargs` —
    `data_dir`, `data_files`, `revision` — go to `datasets.load_dataset`). Raises `DatasetInputError`, one line."""
    import datasets

    unknown = sorted(set(load_kwargs) - set(LOAD_KEYS))
    if unknown:
        raise TypeError(f"open_dataset: unknown arguments {unknown}")
    if isinstance(source, (datasets.Dataset, datasets.IterableDataset)):
        data = {split or "train": source}
        split = split or "train"
    elif isinstance(source, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        data = source
    else:
        name = os.fspath(source)
        check_source(name)
        if is_saved_folder(name):
            if config is not None:
                raise DatasetInputError(f"dataset {name}: a save_to_disk folder has no configs (got {config!r})")
            data = _load_saved(Path(name), name)
            if isinstance(data, datasets.Dataset):
                data = datasets.DatasetDict({split or "train": data})
            if streaming:
                data = datasets.IterableDatasetDict({key: rows.to_iterable_dataset() for key, rows in data.items()})
        else:
            data = _load(name, config, streaming, load_kwargs)
    if split is None:
        return data
    if split not in data:
        raise DatasetInputError(f"dataset {_name(source)}: no split {split!r} (it has {', '.join(data)})")
    kind = datasets.IterableDatasetDict if streaming or isinstance(data[split], datasets.IterableDataset) \
        else datasets.DatasetDict
    return kind({split: data[split]})


def _load(name: str, config, streaming: bool, load_kwargs: dict):
    import datasets

    wanted = load_kwargs.get("split")
    try:
        data = datasets.load_dataset(name, config, streaming=streaming, **load_kwargs)
    except Exception as error:  # FileNotFoundError, ValueError, DatasetNotFoundError, connection errors: one line
        raise DatasetInputError(f"dataset {name}{f' config {config!r}' if config else ''}: cannot be loaded "
                                f"({_one_line(error)})") from None
    if isinstance(data, (datasets.Dataset, datasets.IterableDataset)):
        key = wanted if isinstance(wanted, str) else "train"
        data = (datasets.IterableDatasetDict if streaming else datasets.DatasetDict)({key: data})
    return data


def _name(source) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__


def config_names(source) -> list[str]:
    """The configs of a local dataset folder or Hub id (a `save_to_disk` folder has none: [])."""
    import datasets

    name = os.fspath(source)
    check_source(name)
    if is_saved_folder(name):
        return []
    try:
        return list(datasets.get_dataset_config_names(name))
    except Exception as error:
        raise DatasetInputError(f"dataset {name}: cannot list its configs ({_one_line(error)})") from None


def lazy_audio(dataset, column: str = "audio"):
    """(`dataset` whose `column` is read undecoded, the `datasets.Audio` feature it had): reading a row then never
    decodes, so a clip that cannot be decoded fails in `decode_audio`, named, instead of where the row is read."""
    import datasets

    feature = (dataset.features or {}).get(column) if dataset.features is not None else None
    if not isinstance(feature, datasets.Audio):
        feature = datasets.Audio()
    if not feature.decode:
        return dataset, feature
    return dataset.cast_column(column, datasets.Audio(sampling_rate=feature.sampling_rate, decode=False)), feature


def _decoder(feature):
    """The column's `datasets.Audio` with decoding on (a lazily read column has it off), or a plain one."""
    import dataclasses

    import datasets

    return dataclasses.replace(feature, decode=True) if isinstance(feature, datasets.Audio) else datasets.Audio()


def decode_samples(value, name: str, feature=None) -> tuple[np.ndarray, int]:
    """(mono float32 samples at their own rate, that rate) of one `Audio` column value: a torchcodec decoder, an
    `{"array", "sampling_rate"}` dict, undecoded `{"bytes"}` / `{"path"}` (decoded by `feature`, the column's
    `datasets.Audio`, so its `sampling_rate` applies), or a file path. Raises `AudioInputError` naming `name`."""
    if isinstance(value, dict) and value.get("array") is not None:
        return to_mono(value["array"], value.get("sampling_rate"), name)
    if isinstance(value, (str, os.PathLike)):
        return to_mono(value, name=name)
    if isinstance(value, dict) and (value.get("bytes") is not None or value.get("path")):
        try:
            value = _decoder(feature).decode_example(value)
        except Exception as error:  # the decoder's errors are RuntimeError, OSError, ValueError ...
            raise decoding_error(name, error) from None
    if not hasattr(value, "get_all_samples"):
        raise AudioInputError(f"{name}: expected an audio value, got {type(value).__name__}")
    try:
        samples = value.get_all_samples()
    except Exception as error:
        raise decoding_error(name, error) from None
    # decoders give (channels, samples): averaged here, where the layout is known (one channel is taken as it is:
    # the mean of one row is that row, and a torch reduction over it cost more than the decoding on a busy CPU)
    data = samples.data
    return to_mono(data[0] if data.shape[0] == 1 else data.mean(0), int(samples.sample_rate), name)


def audio_header(value, feature=None):
    """The torchcodec metadata (`duration_seconds_from_header`, `sample_rate`, ...) of one `Audio` column value,
    read without decoding; None when the value has no readable header (its error comes when it is decoded)."""
    try:
        if isinstance(value, dict) and (value.get("bytes") is not None or value.get("path")):
            value = _decoder(feature).decode_example(value)
        return value.metadata
    except Exception:  # any failure to read a header is reported, with its reason, by decode_samples
        return None


def decode_audio(value, name: str, feature=None, min_samples: int = 0) -> np.ndarray:
    """One `Audio` column value (see `decode_samples`) as mono float32 at 16 kHz, with at least `min_samples`."""
    samples, rate = decode_samples(value, name, feature)
    return to_mono_16k(samples, rate, name=name, min_samples=min_samples)


# the share of a dataset's rows that may be left out as unreadable before a run stops instead
MAX_BAD_FRACTION = 0.01


def tolerated(rows: int, max_bad_fraction: float) -> int:
    """How many of `rows` may be left out: the fraction rounded up, so one broken clip in a small corpus is skipped
    (1 % of 40 rows tolerates one, of 1,000 rows ten) while a fraction of 0 tolerates none."""
    return math.ceil(max_bad_fraction * rows - 1e-9)


def readable_rows(dataset, source: str, column: str = "audio", max_bad_fraction: float = MAX_BAD_FRACTION,
                  progress: bool = False):
    """(`dataset` without the rows whose audio cannot be opened, read undecoded (`lazy_audio`), their names): each
    left-out row gets one warning naming it (its `id`, else its row number); more than `max_bad_fraction` of the
    rows left out (`tolerated`) stops the run with a `DatasetInputError` naming them. Only headers are read, nothing
    is decoded, so this costs one file open per row before any work starts."""
    import logging

    from tqdm.auto import tqdm

    dataset, feature = lazy_audio(dataset, column)
    names = ["id", column] if "id" in (dataset.column_names or ()) else [column]
    bad, kept = [], []
    for index, row in enumerate(tqdm(dataset.select_columns(names), total=len(dataset), unit="row",
                                     desc="checking audio", disable=not progress)):
        name = row_name(row, index)
        header = audio_header(row[column], feature)
        if header is None:
            try:  # the reason, in the package's words
                decode_samples(row[column], name, feature)
                reason = f"{name}: audio header cannot be read"
            except AudioInputError as error:
                reason = str(error)
            logging.getLogger(__name__).warning("dataset %s: left out %s", source, reason)
            bad.append(name)
        else:
            kept.append(index)
    if len(bad) > tolerated(len(dataset), max_bad_fraction):
        shown = ", ".join(bad[:20]) + (f", … ({len(bad) - 20} more)" if len(bad) > 20 else "")
        raise DatasetInputError(f"dataset {source}: {len(bad)} of {len(dataset)} rows have audio that cannot be "
                                f"decoded, more than {max_bad_fraction:.0%}: {shown}")
    return (dataset.select(kept) if bad else dataset), bad


def row_name(row: dict, index: int | None = None, position: int | None = None) -> str:
    """How a row is named in messages: its `id` column when it has one, with its row number `index` when known;
    without an id, its row number, else its `position` in a batch."""
    if isinstance(row, dict) and row.get("id") is not None:
        return f"row {row['id']!r}" if index is None else f"row {index} (id {row['id']!r})"
    return f"row {index}" if index is not None else f"batch item {position} (the dataset has no id column)"


__all__ = [
    "MAX_BAD_FRACTION", "DatasetInputError", "LOAD_KEYS", "audio_header", "check_source", "config_names",
    "decode_audio", "decode_samples", "is_saved_folder", "lazy_audio", "open_dataset", "readable_rows", "row_name",
    "tolerated",
]
