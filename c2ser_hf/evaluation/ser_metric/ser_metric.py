"""Speech emotion recognition metrics over the seven C2SER emotions, as an `evaluate` module.

Load it by path, offline: `evaluate.load(c2ser_hf.evaluation.metric_path())`. It needs only numpy (and evaluate):
`evaluate` copies this one file into its module cache, so it imports nothing from c2ser_hf.
"""

import datasets
import evaluate
import numpy as np

# The canonical order of c2ser_hf.processing.EMOTIONS, repeated here because evaluate loads this file on its own
# (tests/test_ser_metric.py checks that the two agree).
EMOTIONS = ("anger", "happiness", "neutral", "sadness", "surprise", "disgust", "fear")
ECE_BINS = 15
UNPARSEABLE = -1  # the class index of a prediction that names no emotion
PROBABILITY_SUM_TOLERANCE = 1e-3

_DESCRIPTION = """\
Weighted accuracy (WA, plain accuracy), unweighted accuracy (UA, the mean recall over the emotions present in the
references), macro-F1 (the mean F1 over the emotions present in the references or the predictions), per-emotion
precision, recall, F1 and support, and the confusion matrix in the canonical order anger, happiness, neutral,
sadness, surprise, disgust, fear. A prediction that names no emotion (None or "", e.g. free text the answer parser
could not read) counts as an error and is reported as the unparseable ("hallucination") rate; it is not a class of
its own. Given the probabilities of the seven emotions per item, also the negative log-likelihood of the reference,
the multi-class Brier score and the expected calibration error of the top emotion (15 equal-width bins).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: canonical emotion names, with None or "" for a prediction that names no emotion; or class indices
        into the canonical order, with -1 (or None) for one that names none. Free text must be parsed first
        (`c2ser_hf.processing.parse_emotion` reads C2SER's English and Chinese answers).
    references: canonical emotion names, or class indices; the same kind as the predictions.
    probabilities (optional): per item, the seven emotion probabilities in the canonical order (each row sums to 1).
Returns:
    wa, ua, macro_f1, unparseable_rate (fractions in [0, 1]); per_class: {emotion: {precision, recall, f1, support,
    unparseable}}, with None where a ratio has nothing to divide by; confusion_matrix: 7x7 counts, rows references,
    columns predictions (unparseable predictions are in no column); count; and with probabilities nll, brier, ece.
Examples:
    >>> ser = evaluate.load("path/to/ser_metric")
    >>> ser.compute(predictions=["anger", None], references=["anger", "fear"])["wa"]
    0.5
"""

_CITATION = """\
@article{zhao2025c2ser,
  title   = {Steering Language Model to Stable Speech Emotion Recognition via Contextual Perception and Chain of Thought},
  author  = {Zhao, Zhixian and Zhu, Xinfu and Wang, Xinsheng and Wang, Shuiyuan and Geng, Xuelong and Tian, Wenjie and Xie, Lei},
  journal = {IEEE/ACM Transactions on Audio, Speech, and Language Processing},
  year    = {2025}
}
@inproceedings{guo2017calibration,
  title     = {On Calibration of Modern Neural Networks},
  author    = {Guo, Chuan and Pleiss, Geoff and Sun, Yu and Weinberger, Kilian Q.},
  booktitle = {ICML},
  year      = {2017}
}
"""


def _features(label):
    return datasets.Features(
        {"predictions": label, "references": label, "probabilities": datasets.Sequence(datasets.Value("float64"))}
    )


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SerMetric(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[_features(datasets.Value("string")), _features(datasets.Value("int64"))],
        )

    # `probabilities` is optional: evaluate requires every feature in every call, so a missing one becomes None rows.
    def add(self, *, prediction=None, reference=None, probabilities=None, **kwargs):
        """Add one prediction, its reference and, optionally, its seven probabilities."""
        (prediction,), (reference,), (probabilities,) = _filled([prediction], [reference], [probabilities])
        return super().add(prediction=prediction, reference=reference, probabilities=probabilities, **kwargs)

    def add_batch(self, *, predictions=None, references=None, probabilities=None, **kwargs):
        """Add predictions, their references and, optionally, their probabilities."""
        predictions, references, probabilities = _filled(predictions, references, probabilities)
        return super().add_batch(predictions=predictions, references=references, probabilities=probabilities, **kwargs)

    def compute(self, *, predictions=None, references=None, probabilities=None, **kwargs):
        """The metrics of these predictions and of those added before."""
        if predictions is None and references is None and probabilities is None:
            return super().compute(**kwargs)
        predictions, references, probabilities = _filled(predictions, references, probabilities)
        return super().compute(predictions=predictions, references=references, probabilities=probabilities, **kwargs)

    def _compute(self, predictions, references, probabilities=None):
        references = _codes(references, "references", missing_allowed=False)
        predictions = _codes(predictions, "predictions", missing_allowed=True)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        if not len(references):
            raise ValueError("no predictions to score")
        results = _classification(predictions, references)
        rows = _probability_rows(probabilities, len(references))
        if rows is not None:
            results.update(_calibration(rows, references))
        return results


def _filled(predictions, references, probabilities):
    """The inputs checked, with None in place of missing probabilities and a missing prediction written the way the
    labels are (evaluate picks the feature types from the first item, where a None would fit either)."""
    if predictions is None or references is None:
        return predictions, references, probabilities
    predictions, references = list(predictions), list(references)
    _codes(references, "references", missing_allowed=False)
    _codes(predictions, "predictions", missing_allowed=True)
    named = [isinstance(r, str) for r in references] + [isinstance(p, str) for p in predictions if p is not None]
    if len(set(named)) > 1:
        raise ValueError("predictions and references: give emotion names for both or class indices for both")
    missing = "" if named and named[0] else UNPARSEABLE
    predictions = [missing if p is None else p for p in predictions]
    if probabilities is None:
        probabilities = [None] * len(predictions)
    return predictions, references, probabilities


def _codes(labels, name, missing_allowed):
    """Class indices (UNPARSEABLE for a missing prediction) of emotion names or indices; ValueError naming the item
    that is neither."""
    codes = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        code = _code(label)
        if code is None or code == UNPARSEABLE and not missing_allowed:
            expected = "an emotion of " + ", ".join(EMOTIONS) + " or its index"
            expected += " (None, '' or -1 when it names none)" if missing_allowed else ""
            raise ValueError(f"{name}[{i}]: {label!r} is not {expected}")
        codes[i] = code
    return codes


def _code(label):
    """The class index of one label, UNPARSEABLE for a missing one, None for anything else."""
    if label is None or label == "":
        return UNPARSEABLE
    if isinstance(label, str):
        return EMOTIONS.index(label) if label in EMOTIONS else None
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool) and -1 <= label < len(EMOTIONS):
        return int(label)
    return None


def _classification(predictions, references):
    classes = len(EMOTIONS)
    parsed = predictions != UNPARSEABLE
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (references[parsed], predictions[parsed]), 1)
    support = np.bincount(references, minlength=classes)
    unparseable = np.bincount(references[~parsed], minlength=classes)
    true_positives, predicted = np.diag(confusion), confusion.sum(axis=0)
    recall = _ratios(true_positives, support)
    precision = _ratios(true_positives, predicted)
    # 2·tp / (2·tp + fp + fn), defined (as 0) also when the emotion is never predicted or never the reference
    f1 = _ratios(2 * true_positives, support + predicted)
    return {
        "wa": float(true_positives.sum() / len(references)),
        "ua": _mean(recall),
        "macro_f1": _mean(f1),
        "unparseable_rate": float((~parsed).mean()),
        "per_class": {
            emotion: {"precision": precision[k], "recall": recall[k], "f1": f1[k], "support": int(support[k]),
                      "unparseable": int(unparseable[k])}
            for k, emotion in enumerate(EMOTIONS)
        },
        "confusion_matrix": confusion.tolist(),
        "count": len(references),
    }


def _ratios(numerators, denominators):
    return [float(n / d) if d else None for n, d in zip(numerators, denominators)]


def _mean(values):
    defined = [v for v in values if v is not None]
    return float(np.mean(defined))


def _probability_rows(probabilities, count):
    if probabilities is None or all(row is None for row in probabilities):
        return None
    missing = [i for i, row in enumerate(probabilities) if row is None]
    if missing:
        raise ValueError(f"probabilities: given for some items but not for {len(missing)} (first: item {missing[0]})")
    short = [i for i, row in enumerate(probabilities) if len(row) != len(EMOTIONS)]
    if short:
        raise ValueError(f"probabilities[{short[0]}]: expected {len(EMOTIONS)} values, in the order {', '.join(EMOTIONS)}")
    rows = np.asarray(probabilities, dtype=np.float64)
    sums = rows.sum(axis=1)
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1) | (rows < 0).any(axis=1)
                         | (np.abs(sums - 1) > PROBABILITY_SUM_TOLERANCE))
    if len(bad):
        raise ValueError(f"probabilities[{bad[0]}]: {rows[bad[0]].tolist()} is not a probability distribution")
    return rows


def _calibration(probabilities, references):
    count = len(references)
    truth = np.zeros_like(probabilities)
    truth[np.arange(count), references] = 1.0
    # clipped like scikit-learn's log_loss, so that a zero probability gives a large finite loss
    reference_probability = np.clip(probabilities[np.arange(count), references], np.finfo(np.float64).eps, 1.0)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == references).astype(np.float64)
    # bin b holds confidences in (b/15, (b+1)/15]; a confidence of 0 goes to the first bin
    bins = np.clip(np.ceil(confidence * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
    gaps = np.bincount(bins, weights=correct - confidence, minlength=ECE_BINS)
    return {
        "nll": float(-np.log(reference_probability).mean()),
        "brier": float(((probabilities - truth) ** 2).sum(axis=1).mean()),
        "ece": float(np.abs(gaps).sum() / count),
    }
