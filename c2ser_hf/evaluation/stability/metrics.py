"""Stability metrics over a table {clip: {variant: record}} whose records hold a "prediction" (an emotion, or None
for an answer that names none), optionally "probabilities" ({emotion: p}), and the clip's "reference".

- flip rate: the share of (clip, variant) pairs whose label differs from the clean clip's, over the clips whose clean
  answer names an emotion (a variant that names none has flipped: the emotion was lost);
- Fleiss' κ: agreement of the clean answer and a family's variants on each clip, "none" a category of its own; None
  where every rating falls in one category (κ is 0/0 there);
- Jensen–Shannon divergence (base 2, in [0, 1]) of the seven emotion probabilities from the clean clip's, averaged
  over the pairs that have them (None without probabilities: generated answers);
- accuracy and unparseable rate of each variant's answers, as the `ser_metric` module counts them (an answer that
  names no emotion is wrong).
Records with an "error" (audio that could not be decoded) take part in nothing.
"""

import numpy as np
from scipy.spatial.distance import jensenshannon

from ...processing import EMOTIONS
from .variants import CLEAN

NONE = "none"  # the category of an answer that names no emotion
CATEGORIES = (*EMOTIONS, NONE)


def fleiss_kappa(ratings: list[list]) -> float | None:
    """Fleiss' κ of items × raters labels (each item rated by as many raters; None is the category "none")."""
    if not ratings:
        return None
    raters = len(ratings[0])
    if raters < 2 or any(len(row) != raters for row in ratings):
        raise ValueError("Fleiss' kappa needs at least two ratings per item and as many for every item")
    counts = np.array([[sum((label or NONE) == category for label in row) for category in CATEGORIES]
                       for row in ratings], dtype=float)
    per_item = (np.sum(counts * counts, axis=1) - raters) / (raters * (raters - 1))
    observed = per_item.mean()
    shares = counts.sum(axis=0) / counts.sum()
    expected = float(np.sum(shares * shares))
    if expected == 1.0:
        return None
    return float((observed - expected) / (1.0 - expected))


def js_divergence(p: dict, q: dict) -> float:
    """Jensen–Shannon divergence, base 2, of two {emotion: probability} distributions (scipy gives its root)."""
    distance = jensenshannon([p[e] for e in EMOTIONS], [q[e] for e in EMOTIONS], base=2)
    return float(distance) ** 2


def summarise(table: dict, variants: list[str], clips: list[str] | None = None) -> dict:
    """The stability of `variants` (names, not the clean one) over `clips` (default: all of the table's)."""
    clips = sorted(table) if clips is None else clips
    pairs = flipped = unparseable = correct = 0
    compared = 0
    divergences = []
    for clip in clips:
        row = table[clip]
        clean = _usable(row.get(CLEAN))
        for variant in variants:
            record = _usable(row.get(variant))
            if record is None:
                continue
            pairs += 1
            unparseable += record["prediction"] is None
            correct += record["prediction"] == record["reference"]
            if clean is None:
                continue
            if clean["prediction"] is not None:
                compared += 1
                flipped += record["prediction"] != clean["prediction"]
            if clean.get("probabilities") and record.get("probabilities"):
                divergences.append(js_divergence(clean["probabilities"], record["probabilities"]))
    rated = [[table[c][CLEAN]["prediction"], *(table[c][v]["prediction"] for v in variants)] for c in clips
             if all(_usable(table[c].get(v)) is not None for v in (CLEAN, *variants))]
    return {"flip_rate": flipped / compared if compared else None,
            "kappa": fleiss_kappa(rated) if rated else None,
            "js_divergence": float(np.mean(divergences)) if divergences else None,
            "accuracy": correct / pairs if pairs else None,
            "unparseable_rate": unparseable / pairs if pairs else None,
            "pairs": pairs, "compared": compared, "clips": len(rated)}


def stability_metrics(table: dict, families: dict[str, list[str]]) -> dict:
    """Overall (every non-clean variant), per family, per variant (and the clean one's accuracy), and per reference
    emotion; `families` maps each family to its variants' names."""
    every = [variant for names in families.values() for variant in names]
    by_emotion = {}
    for emotion in EMOTIONS:
        clips = sorted(clip for clip, row in table.items() if _reference(row) == emotion)
        if clips:
            by_emotion[emotion] = {"clips": len(clips), **_brief(summarise(table, every, clips))}
    clean = summarise(table, [CLEAN])
    return {"clean": {"accuracy": clean["accuracy"], "unparseable_rate": clean["unparseable_rate"],
                      "clips": clean["pairs"]},
            "overall": summarise(table, every),
            "by_family": {family: summarise(table, names) for family, names in families.items()},
            "by_variant": {variant: summarise(table, [variant]) for variant in every},
            "by_emotion": by_emotion}


def records_table(records: list[dict]) -> dict:
    """{clip: {variant: record}} from a run's predictions."""
    table = {}
    for record in records:
        table.setdefault(record["clip"], {})[record["variant"]] = record
    return table


def _usable(record: dict | None) -> dict | None:
    return None if record is None or "error" in record else record


def _reference(row: dict) -> str | None:
    return next(iter(row.values()))["reference"]


def _brief(summary: dict) -> dict:
    return {key: summary[key] for key in ("flip_rate", "js_divergence", "accuracy", "unparseable_rate")}
