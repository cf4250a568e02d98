"""The labelled clips of one evaluated dataset (a `prepare-data` folder, a Hub id with the same schema, or any
dataset with an audio column and a label column), their canonical references, and the order they are scored in."""

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..option_error import option_error
from ..processing import EMOTIONS, normalize_emotion


@dataclass
class EvalSet:
    source: str
    config: str | None
    split: str
    rows: object  # the datasets.Dataset
    ids: list[str]
    references: list[str | None]  # canonical emotion; None: a label with no canonical class, excluded and counted
    languages: list[str | None]
    durations: list[float]
    rates: list[int]
    excluded: Counter = field(default_factory=Counter)

    @property
    def name(self) -> str:
        """"<dataset>/<config>/<split>": the dataset as results and tables name it."""
        return "/".join(part for part in (short_name(self.source), self.config, self.split) if part)

    def batches(self, batch_size: int) -> list[list[int]]:
        """Row indices of the scored clips in batches of similar duration and one sampling rate. The plan depends
        on the dataset alone, so resumed and multi-process runs score exactly the batches a single run scores."""
        from ..extract_features import plan_batches

        plan = []
        for rate in sorted(set(self.rates)):
            rows = [i for i, r in enumerate(self.rates) if r == rate and self.references[i] is not None]
            plan += [[rows[k] for k in batch] for batch in plan_batches([self.durations[i] for i in rows], batch_size)]
        return plan

    def audio(self, indices: list[int]) -> tuple[dict, dict]:
        """({row: (mono waveform, sampling rate)}, {row: why its audio cannot be decoded})."""
        waveforms, errors = {}, {}
        for index in indices:
            try:
                samples = self.rows[index]["audio"].get_all_samples()  # channels × samples
                waveforms[index] = (samples.data.mean(0).numpy(), samples.sample_rate)
            except Exception as error:  # a broken clip is reported on its row; the others go on
                errors[index] = f"row {index} (id {self.ids[index]!r}): audio cannot be decoded ({error})"
        return waveforms, errors


def short_name(source: str) -> str:
    """A local folder's name, or a Hub id as given."""
    path = Path(source)
    return path.name if path.exists() else str(source)


def load_eval_set(source: str, config: str | None = None, split: str = "test", label_column: str = "emotion",
                  label_map: dict | None = None) -> EvalSet:
    """Read `split` of `source`; each label becomes a canonical emotion through `label_map` ({label: emotion or
    None}) first, then the wordings the answer parser knows. A label neither knows is an error naming it."""
    import datasets

    from ..cot.build import load_input

    try:
        rows = load_input(os.fspath(source), split=split, config=config)[split]
    except (ValueError, FileNotFoundError) as error:
        if os.fspath(source) in str(error):
            raise
        raise type(error)(f"dataset {source}: {error}") from None
    columns = set(rows.column_names)
    if "audio" not in columns:
        raise ValueError(f"dataset {source}: no column 'audio' (it has {', '.join(sorted(columns))})")
    if label_column not in columns:
        raise option_error(ValueError, f"dataset {source}: no column {label_column!r} (it has "
                           f"{', '.join(sorted(columns))}); name the label column with {{option}}", "label_column=",
                           "--label-column")
    if not isinstance(rows.features["audio"], datasets.Audio):
        raise ValueError(f"dataset {source}: column 'audio' is {rows.features['audio']}, not an Audio feature")
    feature = rows.features[label_column]
    raw = rows[label_column]
    labels = feature.int2str(raw) if isinstance(feature, datasets.ClassLabel) else raw
    label_map = label_map or {}
    references, excluded = [], Counter()
    for index, label in enumerate(labels):
        if label in label_map:
            emotion = label_map[label]
        else:
            emotion = normalize_emotion(label) if isinstance(label, str) else None
            if emotion is None:
                raise option_error(ValueError, f"dataset {source}: row {index} has label {label!r}, which names "
                                   f"none of {', '.join(EMOTIONS)}; map it with {{option}} (null excludes it)",
                                   "label_map=", "--label-map")
        if emotion is None:
            excluded[label] += 1
        references.append(emotion)
    ids = [str(i) for i in rows["id"]] if "id" in columns else [str(i) for i in range(len(rows))]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i, count in Counter(ids).items() if count > 1)
        raise ValueError(f"dataset {source}: id {duplicate!r} is on more than one row")
    languages = [str(v) if v else None for v in rows["language"]] if "language" in columns else [None] * len(rows)
    durations, rates = _durations_and_rates(rows, columns)
    config = config or rows.info.config_name  # the default config, named, when none was asked for
    return EvalSet(os.fspath(source), config, split, rows, ids, references, languages, durations, rates, excluded)


def _durations_and_rates(rows, columns) -> tuple[list[float], list[int]]:
    """Per row, from the audio headers (nothing is decoded) unless a `duration` column gives the durations and the
    Audio feature the rate every clip is decoded at."""
    rate = rows.features["audio"].sampling_rate
    if "duration" in columns and rate:
        return [float(d or 0.0) for d in rows["duration"]], [rate] * len(rows)
    durations, rates = [], []
    for index in range(len(rows)):
        try:
            header = rows[index]["audio"].metadata
            durations.append(header.duration_seconds_from_header or 0.0)
            rates.append(rate or header.sample_rate)
        except Exception:  # reported, with its reason, when the clip is scored
            durations.append(0.0)
            rates.append(rate or 0)
    return durations, rates
