"""Evaluation: the speech-emotion metric for `evaluate` and the harness that scores models on prepared datasets."""

from pathlib import Path


def metric_path() -> str:
    """The folder of the `ser_metric` evaluate module; `evaluate.load(metric_path())` works offline."""
    return str(Path(__file__).resolve().parent / "ser_metric")


def load_metric(**kwargs):
    """`evaluate.load(metric_path(), **kwargs)`: WA, UA, macro-F1, per-class scores, confusion matrix, unparseable
    rate, and NLL / Brier / ECE when probabilities are given."""
    import evaluate

    return evaluate.load(metric_path(), **kwargs)


__all__ = ["load_metric", "metric_path"]
