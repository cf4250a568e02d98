"""The labelled clips of one evaluated dataset (a `prepare-data` folder, a Hub id with the same schema, or any
dataset with an audio column and a label column): the corpus's clips (`c2ser_hf/corpus/dataset_input.py`) with their
canonical references."""

from collections import Counter
from dataclasses import dataclass, field

from ..corpus.dataset_input import CorpusRows, load_corpus, short_name
from ..option_error import option_error
from ..processing import EMOTIONS, normalize_emotion


@dataclass
class EvalSet(CorpusRows):
    references: list[str | None] = None  # canonical emotion; None: a label with no canonical class, excluded, counted
    excluded: Counter = field(default_factory=Counter)

    def batches(self, batch_size: int, max_padding: float) -> list[list[int]]:
        """The scored clips (those with a canonical reference) in batches: `CorpusRows.batches`."""
        return super().batches(batch_size, max_padding, [i for i, r in enumerate(self.references) if r is not None])


def load_eval_set(source: str, config: str | None = None, split: str = "test", label_column: str = "emotion",
                  label_map: dict | None = None) -> EvalSet:
    """Read `split` of `source`; each label becomes a canonical emotion through `label_map` ({label: emotion or
    None}) first, then the wordings the answer parser knows. A label neither knows is an error naming it."""
    import datasets

    corpus = load_corpus(source, config, split)
    rows = corpus.rows
    columns = set(rows.column_names)
    if label_column not in columns:
        raise option_error(ValueError, f"dataset {source}: no column {label_column!r} (it has "
                           f"{', '.join(sorted(columns))}); name the label column with {{option}}", "label_column=",
                           "--label-column")
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
    return EvalSet(**vars(corpus), references=references, excluded=excluded)


__all__ = ["EvalSet", "load_eval_set", "short_name"]
