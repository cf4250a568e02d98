"""Discretisation of acoustic values into Low / Medium / High against corpus statistics (paper §III-C step 2):
Low below μ−σ, High above μ+σ, Medium in between with both bounds inclusive."""

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .acoustics import ATTRIBUTES

LEVELS = ("Low", "Medium", "High")


@dataclass(frozen=True)
class AttributeStats:
    mean: float
    std: float
    count: int

    def level(self, value: float | None) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if value < self.mean - self.std:
            return "Low"
        if value > self.mean + self.std:
            return "High"
        return "Medium"


class CorpusStats:
    """μ and σ (population standard deviation) of each attribute over the utterances where it was measured."""

    def __init__(self, attributes: dict[str, AttributeStats]):
        missing = [name for name in ATTRIBUTES if name not in attributes]
        if missing:
            raise ValueError(f"corpus statistics lack {', '.join(missing)}")
        self.attributes = attributes

    @classmethod
    def from_values(cls, columns: dict[str, list]) -> "CorpusStats":
        stats = {}
        for name in ATTRIBUTES:
            values = np.array([v for v in columns[name] if v is not None], dtype=np.float64)
            values = values[np.isfinite(values)]
            if len(values) == 0:
                raise ValueError(f"no utterance has a measured {name}: its statistics are undefined")
            stats[name] = AttributeStats(float(values.mean()), float(values.std()), int(len(values)))
        return cls(stats)

    def levels(self, row: dict) -> dict[str, str | None]:
        return {name: self.attributes[name].level(row.get(name)) for name in ATTRIBUTES}

    def to_dict(self) -> dict:
        return {name: vars(stats) for name, stats in self.attributes.items()}

    def save(self, path) -> None:
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path) -> "CorpusStats":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls({name: AttributeStats(float(v["mean"]), float(v["std"]), int(v["count"])) for name, v in data.items()})
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"statistics file {path}: {error}") from error
