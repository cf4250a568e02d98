"""The clips of a corpus: a `prepare-data` folder, a `save_to_disk` folder or a Hub id (any dataset with an Audio
column), read whole (`load_corpus`: every clip's duration from its audio header, so batches group similar lengths)
or streamed (`stream_corpus`: rows as they arrive, this process's share only, nothing held but a buffer)."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..dataset_io import audio_header, decode_samples, lazy_audio, open_dataset
from ..processing.audio_input import AudioInputError

LANGUAGES = ("en", "zh")


@dataclass
class Clip:
    """One row's clip: its id, row number, the row's language (as the dataset writes it, or None) and its audio:
    `load()` gives the column's undecoded value, decoded by `feature` (its `datasets.Audio`) in `decode_clips`."""

    id: str
    row: int
    language: str | None
    load: Callable
    feature: object = None


@dataclass
class CorpusRows:
    source: str
    config: str | None
    split: str
    rows: object  # the datasets.Dataset
    ids: list[str]
    languages: list[str | None]
    durations: list[float]
    rates: list[int]
    _undecoded: tuple | None = field(default=None, repr=False)  # (rows read undecoded, their Audio feature)

    @property
    def name(self) -> str:
        """"<dataset>/<config>/<split>": the dataset as results and tables name it."""
        return "/".join(part for part in (short_name(self.source), self.config, self.split) if part)

    def batches(self, batch_size: int, max_padding: float, rows: list[int] | None = None) -> list[list[int]]:
        """Row indices (of `rows`, default all) in batches of similar duration and one sampling rate. The plan
        depends on the dataset alone, so resumed and multi-process runs run exactly the batches a single run runs."""
        from ..batch_sizes import plan_batches

        rows = range(len(self.ids)) if rows is None else rows
        plan = []
        for rate in sorted(set(self.rates)):
            chosen = [i for i in rows if self.rates[i] == rate]
            plan += [[chosen[k] for k in batch]
                     for batch in plan_batches([self.durations[i] for i in chosen], batch_size, max_padding)]
        return plan

    def clips(self, indices: list[int]) -> list[Clip]:
        if self._undecoded is None:
            self._undecoded = lazy_audio(self.rows)
        rows, feature = self._undecoded
        return [Clip(self.ids[i], i, self.languages[i], lambda i=i: rows[i]["audio"], feature) for i in indices]


def decode_clips(clips: list[Clip]) -> tuple[dict, dict]:
    """({position: (mono float32 waveform, sampling rate)}, {position: why that clip's audio cannot be decoded})."""
    waveforms, errors = {}, {}
    for position, clip in enumerate(clips):
        try:
            waveforms[position] = decode_samples(clip.load(), f"row {clip.row} (id {clip.id!r})", clip.feature)
        except AudioInputError as error:  # a broken clip is reported on its row; the others go on
            errors[position] = str(error)
    return waveforms, errors


def run_decoded(clips: list[Clip], run) -> list[dict]:
    """One result per clip: what `run(waveforms, sampling_rate, clips)` gives for the decoded clips of each sampling
    rate, or `{"error": message}` for a clip whose audio cannot be decoded."""
    waveforms, errors = decode_clips(clips)
    results = {position: {"error": message} for position, message in errors.items()}
    by_rate = {}
    for position, (_, rate) in waveforms.items():
        by_rate.setdefault(rate, []).append(position)
    for rate, positions in by_rate.items():
        found = run([waveforms[p][0] for p in positions], rate, [clips[p] for p in positions])
        results.update(zip(positions, found))
    return [results[position] for position in range(len(clips))]


def short_name(source: str) -> str:
    """A local folder's name, or a Hub id as given."""
    path = Path(source)
    return path.name if path.exists() else str(source)


def language_of(value) -> str | None:
    """"en" / "zh" from a language column's value ("en", "EN-us", "zh_CN", …); None for any other."""
    code = str(value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def load_corpus(source, config: str | None = None, split: str | None = "test") -> CorpusRows:
    """Read `split` of `source` (None: its only split); ids from its `id` column (else the row number), languages
    from its `language` column (else None), durations and rates from the audio headers (nothing is decoded)."""
    from collections import Counter

    splits = open_dataset(os.fspath(source), config, split)
    split = split or _only_split(source, list(splits))
    rows = splits[split]
    _check_audio_column(source, rows.features, rows.column_names)
    columns = set(rows.column_names)
    ids = [str(i) for i in rows["id"]] if "id" in columns else [str(i) for i in range(len(rows))]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i, count in Counter(ids).items() if count > 1)
        raise ValueError(f"dataset {source}: id {duplicate!r} is on more than one row")
    languages = [str(v) if v else None for v in rows["language"]] if "language" in columns else [None] * len(rows)
    durations, rates = _durations_and_rates(rows, columns)
    config = config or rows.info.config_name  # the default config, named, when none was asked for
    return CorpusRows(os.fspath(source), config, split, rows, ids, languages, durations, rates)


def open_stream(source, config: str | None, split: str | None):
    """(`split` of `source` as a `datasets.IterableDataset`, the split's name); None: its only split."""
    data = open_dataset(os.fspath(source), config, split, streaming=True)
    split = split or _only_split(source, list(data))
    _check_audio_column(source, data[split].features, data[split].column_names)
    return data[split], split


def stream_clips(data, ranks, done: set[str]):
    """Yield this process's clips of a streamed split (row k goes to rank k mod world, so ids are the same whatever
    the process count), leaving out those whose id is in `done`. Audio is opened only when used."""
    # rows carry the undecoded file; each clip opens its own, so a broken one fails alone
    data, audio = lazy_audio(data)
    for index, row in enumerate(data):
        if index % ranks.world != ranks.rank:
            continue
        clip_id = str(row["id"]) if "id" in row else str(index)
        if clip_id not in done:
            language = str(row["language"]) if row.get("language") else None
            yield Clip(clip_id, index, language, lambda value=row["audio"]: value, audio)


def _only_split(source, splits: list[str]) -> str:
    from ..option_error import option_error

    if len(splits) == 1:
        return splits[0]
    raise option_error(ValueError, f"dataset {source}: has the splits {', '.join(splits)}; choose one with {{option}}",
                       "split=", "--split")


def _check_audio_column(source, features, columns) -> None:
    import datasets

    if columns is not None and "audio" not in columns:
        raise ValueError(f"dataset {source}: no column 'audio' (it has {', '.join(sorted(columns))})")
    if features is not None and not isinstance(features["audio"], datasets.Audio):
        raise ValueError(f"dataset {source}: column 'audio' is {features['audio']}, not an Audio feature")


def _durations_and_rates(rows, columns) -> tuple[list[float], list[int]]:
    """Per row, from the audio headers (nothing is decoded) unless a `duration` column gives the durations and the
    Audio feature the rate every clip is decoded at."""
    rate = rows.features["audio"].sampling_rate
    if "duration" in columns and rate:
        return [float(d or 0.0) for d in rows["duration"]], [rate] * len(rows)
    durations, rates = [], []
    undecoded, feature = lazy_audio(rows.select_columns(["audio"]))
    for row in undecoded:  # one row at a time: a corpus's audio bytes are never all in memory
        header = audio_header(row["audio"], feature)  # None: reported, with its reason, when the clip is decoded
        durations.append(getattr(header, "duration_seconds_from_header", None) or 0.0)
        rates.append(rate or getattr(header, "sample_rate", None) or 0)
    return durations, rates
