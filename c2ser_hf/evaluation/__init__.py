"""Evaluation: the speech-emotion metric for `evaluate` and the harness that scores models on labelled datasets.

`evaluate_model` and `score_predictions` (in `harness`) are imported on first use, so that the metric helpers below
cost no model-library import."""

from pathlib import Path


def metric_path() -> str:
    """The folder of the `ser_metric` evaluate module; `evaluate.load(metric_path())` works offline."""
    return str(Path(__file__).resolve().parent / "ser_metric")


def load_metric(**kwargs):
    """`evaluate.load(metric_path(), **kwargs)`: WA, UA, macro-F1, per-class scores, confusion matrix, unparseable
    rate, and NLL / Brier / ECE when probabilities are given."""
    import evaluate

    return evaluate.load(metric_path(), **kwargs)


def __getattr__(name):
    if name in ("evaluate_model", "score_predictions"):
        from . import harness

        return getattr(harness, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["evaluate_model", "load_metric", "metric_path", "score_predictions"]
