"""What an evaluation writes besides its predictions: results.json, the Markdown table in the layout of the paper's
Table VI, a row-normalised confusion matrix per dataset (PNG), and eval_results.json for the model card."""

import os
from pathlib import Path

from ..processing import EMOTIONS

TABLE_METRICS = (("ua", "UA (%)"), ("wa", "WA (%)"), ("macro_f1", "F1 (%)"))  # Table VI's columns, in its order
DATASETS_PER_BLOCK = 3  # Table VI sets three test sets side by side


def markdown_table(entries: list[dict]) -> str:
    """UA / WA / F1 in percent per test set, one row per evaluated model (and mode), test sets in blocks of three."""
    datasets = list(dict.fromkeys(entry["dataset"] for entry in entries))
    rows = list(dict.fromkeys(entry["row"] for entry in entries))
    metrics = {(entry["row"], entry["dataset"]): entry["metrics"] for entry in entries}
    blocks = []
    for first in range(0, len(datasets), DATASETS_PER_BLOCK):
        block = datasets[first:first + DATASETS_PER_BLOCK]
        header = ["Model"] + [f"{dataset} {label}" for dataset in block for _, label in TABLE_METRICS]
        lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        for row in rows:
            cells = [_percent(metrics.get((row, dataset), {}).get(key)) for dataset in block for key, _ in TABLE_METRICS]
            lines.append("| " + " | ".join([row] + cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def eval_results(entries: list[dict]) -> dict:
    """{"<dataset> (<mode>)": {metric: percent}}: the file the model card of `c2ser-hf push` shows as a table."""
    results = {}
    for entry in entries:
        values = {label: round(100 * entry["metrics"][key], 2) for key, label in TABLE_METRICS}
        values["unparseable (%)"] = round(100 * entry["metrics"]["unparseable_rate"], 2)
        results[f"{entry['dataset']} ({entry['setting']})"] = values
    return results


def plot_confusion(metrics: dict, path: Path, title: str) -> None:
    """Rows: reference emotions, each divided by its number of clips; columns: predicted emotions in the canonical
    order, plus "none" for answers that name no emotion when there are any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    counts = np.asarray(metrics["confusion_matrix"], dtype=float)
    columns = list(EMOTIONS)
    if metrics["unparseable_rate"] > 0:
        counts = np.column_stack([counts, [metrics["per_class"][e]["unparseable"] for e in EMOTIONS]])
        columns.append("none")
    support = np.array([metrics["per_class"][e]["support"] for e in EMOTIONS], dtype=float)
    shares = np.divide(counts, support[:, None], out=np.full_like(counts, np.nan), where=support[:, None] > 0)
    figure, axes = plt.subplots(figsize=(1.0 + 0.8 * len(columns), 6.0))
    axes.imshow(np.nan_to_num(shares), cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, column), share in np.ndenumerate(shares):
        if not np.isnan(share):
            axes.text(column, row, f"{100 * share:.0f}", ha="center", va="center",
                      color="white" if share > 0.5 else "black", fontsize=9)
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(EMOTIONS)), [f"{e} ({int(n)})" for e, n in zip(EMOTIONS, support)])
    axes.set_xlabel("prediction")
    axes.set_ylabel("reference (clips)")
    axes.set_title(title, fontsize=10)
    save_figure(figure, path)


def save_figure(figure, path: Path) -> None:
    """Write a matplotlib figure as a PNG under its final name only once it is whole, and free it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial.png")
    figure.savefig(staging, dpi=100)
    plt.close(figure)
    os.replace(staging, path)


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}"
