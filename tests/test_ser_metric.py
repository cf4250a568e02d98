"""The `ser_metric` evaluate module: equal to scikit-learn on fixed cases, calibration by hand, the evaluate API."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support, recall_score,
)

from c2ser_hf.evaluation import load_metric, metric_path
from c2ser_hf.processing import EMOTIONS

UNPARSEABLE = -1
RNG = np.random.default_rng(13)
# (name, references, predictions) as class indices, -1 = a prediction that names no emotion
CASES = [
    ("a class never predicted", [0, 0, 1, 1, 2, 2], [0, 0, 1, 0, 1, 1]),
    ("a class absent from the references", [0, 1, 1, 3, 3, 3], [0, 1, 6, 3, 3, 6]),
    ("all wrong", [0, 1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 0]),
    ("a single class", [4] * 5, [4] * 5),
    ("unparseable predictions", [0, 1, 2, 2, 5, 6, 6], [0, -1, 2, -1, 5, -1, 1]),
    ("random 7x7", RNG.integers(0, 7, 300).tolist(), np.where(RNG.random(300) < 0.1, -1, RNG.integers(0, 7, 300)).tolist()),
]


@pytest.fixture(scope="module")
def metric():
    return load_metric()  # its caches are in a temporary folder (conftest.py)


def _close(ours, theirs):
    if ours is None:
        return np.isnan(theirs)
    print(f"|ours - scikit-learn| = {abs(ours - theirs):.1e}")
    return abs(ours - theirs) <= 1e-12


@pytest.mark.parametrize("name, references, predictions", CASES, ids=[c[0] for c in CASES])
def test_equals_scikit_learn(metric, name, references, predictions):
    as_names = [EMOTIONS[p] if p != UNPARSEABLE else None for p in predictions]
    results = metric.compute(predictions=as_names, references=[EMOTIONS[r] for r in references])
    assert results == metric.compute(predictions=predictions, references=references)

    present = sorted(set(references))
    seen = sorted(set(references) | set(predictions) - {UNPARSEABLE})
    assert _close(results["wa"], accuracy_score(references, predictions))
    assert _close(results["ua"], recall_score(references, predictions, labels=present, average="macro"))
    assert _close(results["macro_f1"], f1_score(references, predictions, labels=seen, average="macro"))
    assert results["unparseable_rate"] == predictions.count(UNPARSEABLE) / len(predictions)
    precision, recall, f1, support = precision_recall_fscore_support(
        references, predictions, labels=range(7), zero_division=np.nan
    )
    for k, emotion in enumerate(EMOTIONS):
        scores = results["per_class"][emotion]
        assert scores["support"] == support[k]
        assert _close(scores["precision"], precision[k]) and _close(scores["recall"], recall[k])
        assert _close(scores["f1"], f1[k])
    parsed = [(r, p) for r, p in zip(references, predictions) if p != UNPARSEABLE]
    expected = confusion_matrix([r for r, _ in parsed], [p for _, p in parsed], labels=range(7))
    assert results["confusion_matrix"] == expected.tolist()


def test_calibration_by_hand(metric):
    references = ["anger", "neutral", "fear"]
    probabilities = [
        [0.70, 0.10, 0.10, 0.05, 0.05, 0.00, 0.00],  # confident and right: bin (10/15, 11/15]
        [0.40, 0.10, 0.30, 0.10, 0.10, 0.00, 0.00],  # top (anger 0.4) wrong: bin (5/15, 6/15]
        [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.70],  # right, 0.7: same bin as the first
    ]
    results = metric.compute(predictions=["anger", "anger", "fear"], references=references,
                             probabilities=probabilities)
    nll = -(np.log(0.70) + np.log(0.30) + np.log(0.70)) / 3
    brier = ((0.3**2 + 0.1**2 * 2 + 0.05**2 * 2)
             + (0.4**2 + 0.1**2 + 0.7**2 + 0.1**2 * 2)
             + (0.05**2 * 6 + 0.3**2)) / 3
    # bins: {0.70, 0.70} both right -> |2 - 1.4|; {0.40} wrong -> |0 - 0.4|
    ece = (abs(2 - 1.4) + abs(0 - 0.4)) / 3
    for key, expected in (("nll", nll), ("brier", brier), ("ece", ece)):
        print(f"{key}: |ours - hand| = {abs(results[key] - expected):.1e}")
        assert abs(results[key] - expected) <= 1e-12
    codes = [EMOTIONS.index(r) for r in references]
    assert abs(results["nll"] - log_loss(codes, probabilities, labels=range(7))) <= 1e-12


def test_add_batch_and_combine_equal_one_compute(metric):
    import evaluate

    _, references, predictions = CASES[-1]
    probabilities = RNG.dirichlet(np.ones(7), len(references)).tolist()
    whole = metric.compute(predictions=predictions, references=references, probabilities=probabilities)
    for start in range(0, len(references), 64):
        end = start + 64
        metric.add_batch(predictions=predictions[start:end], references=references[start:end],
                         probabilities=probabilities[start:end])
    assert metric.compute() == whole
    for prediction, reference in zip(predictions[:5], references[:5]):
        metric.add(prediction=prediction, reference=reference)
    assert metric.compute() == metric.compute(predictions=predictions[:5], references=references[:5])

    combined = evaluate.combine({"ser": metric, "again": load_metric()}, force_prefix=True)
    results = combined.compute(predictions=predictions, references=references, probabilities=probabilities)
    assert results["ser_wa"] == results["again_wa"] == whole["wa"] and results["ser_ece"] == whole["ece"]


@pytest.mark.parametrize("call, message", [
    (dict(predictions=["happy"], references=["anger"]), r"predictions\[0\]: 'happy' is not an emotion"),
    (dict(predictions=["anger"], references=[None]), r"references\[0\]: "),
    (dict(predictions=[9], references=[0]), r"predictions\[0\]: 9 is not"),
    (dict(predictions=[0], references=["anger"]), "names for both or class indices for both"),
    (dict(predictions=[0, 1], references=[0, 1], probabilities=[[1.0] + [0.0] * 6, None]), "not for 1"),
    (dict(predictions=[0], references=[0], probabilities=[[0.5] * 7]), r"probabilities\[0\]: .* not a probability"),
    (dict(predictions=[0], references=[0], probabilities=[[1.0]]), r"probabilities\[0\]: expected 7 values"),
])
def test_bad_input_names_the_item(metric, call, message):
    with pytest.raises(ValueError, match=message):
        metric.compute(**call)


def test_loads_offline_by_path_alone(tmp_path):
    """The module is one standalone file: evaluate loads it in a fresh process with no network and a new HF_HOME,
    and it imports neither c2ser_hf nor anything beyond numpy, datasets and evaluate."""
    source = Path(metric_path()) / "ser_metric.py"
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert imported == {"datasets", "evaluate", "numpy"}
    script = ("import evaluate, json, sys; m = evaluate.load(sys.argv[1]); "
              "print(json.dumps([m.compute(predictions=['anger', ''], references=['anger', 'fear'])['wa'], "
              "m.compute.__globals__['EMOTIONS']]))")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_MODULES_CACHE", "HF_METRICS_CACHE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", HF_EVALUATE_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", script, metric_path()], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=True).stdout
    wa, emotions = json.loads(out)
    assert wa == 0.5 and tuple(emotions) == EMOTIONS
    assert list((tmp_path / "hf" / "modules").rglob("ser_metric.py"))  # loaded through the new HF_HOME
