"""What a stability run writes besides its predictions: the "stability" section of results.json, stability.md, a plot
of flip rate and accuracy per variant, and rows in each model's eval_results.json for the model card. The folder is
the run's own (c2ser_hf/output_folder.py: an `evaluate` run's --out is refused), so a rerun rewrites these whole."""

import json
from pathlib import Path

from ...atomic_files import write_atomic, write_json
from ..reports import save_figure

RESULTS, TABLE, CARD = "results.json", "stability.md", "eval_results.json"


def write_stability_outputs(out: Path, section: dict) -> None:
    results = _read(out / RESULTS)
    results["stability"] = section
    write_json(out / RESULTS, results)
    scored = [entry for entry in section["results"] if entry and "stability" in entry]
    if scored:
        write_atomic(out / TABLE, markdown_tables(scored))
    for name in dict.fromkeys(entry["model_name"] for entry in scored):
        card = _read(out / name / CARD)
        card.update(card_rows([entry for entry in scored if entry["model_name"] == name]))
        write_json(out / name / CARD, card)


def markdown_tables(entries: list[dict]) -> str:
    """Per dataset: one row per model and mode (accuracy clean and under the variants, flip rate, κ, Jensen–Shannon,
    flip rate per family), then flip rate / accuracy per variant with one column pair per row."""
    blocks = []
    for dataset in dict.fromkeys(entry["dataset"] for entry in entries):
        chosen = [entry for entry in entries if entry["dataset"] == dataset]
        families = list(dict.fromkeys(family for entry in chosen for family in entry["families"]))
        header = ["Model", "clean acc (%)", "variants acc (%)", "flip rate (%)", "Fleiss κ", "JS div.",
                  "unparseable (%)", *(f"{family} flip (%)" for family in families)]
        lines = [f"### {dataset}", "", _row(header), "|---|" + "---:|" * (len(header) - 1)]
        for entry in chosen:
            metrics = entry["stability"]
            overall = metrics["overall"]
            lines.append(_row([entry["row"], _percent(metrics["clean"]["accuracy"]), _percent(overall["accuracy"]),
                               _percent(overall["flip_rate"]), _number(overall["kappa"]),
                               _number(overall["js_divergence"]), _percent(overall["unparseable_rate"]),
                               *(_percent(metrics["by_family"].get(f, {}).get("flip_rate")) for f in families)]))
        variants = list(dict.fromkeys(v for entry in chosen for names in entry["families"].values() for v in names))
        header = ["Variant", *(f"{entry['row']} {what}" for entry in chosen for what in ("flip (%)", "acc (%)"))]
        lines += ["", _row(header), "|---|" + "---:|" * (len(header) - 1)]
        for variant in variants:
            cells = []
            for entry in chosen:
                values = entry["stability"]["by_variant"].get(variant, {})
                cells += [_percent(values.get("flip_rate")), _percent(values.get("accuracy"))]
            lines.append(_row([variant, *cells]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def card_rows(entries: list[dict]) -> dict:
    """{"<dataset> (<mode>, stability)": {metric: value}}, as the model card's evaluation table shows them."""
    rows = {}
    for entry in entries:
        overall = entry["stability"]["overall"]
        values = {"flip rate (%)": _rounded(overall["flip_rate"], 100), "Fleiss kappa": _rounded(overall["kappa"]),
                  "JS divergence": _rounded(overall["js_divergence"], digits=4),
                  "accuracy under variants (%)": _rounded(overall["accuracy"], 100)}
        rows[f"{entry['dataset']} ({entry['setting']}, stability)"] = values
    return rows


def plot_stability(entry: dict, path: Path) -> None:
    """Flip rate and accuracy (%) per variant; the clean clip's accuracy as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = entry["stability"]
    variants = [v for names in entry["families"].values() for v in names]
    flips = [100 * (metrics["by_variant"][v]["flip_rate"] or 0.0) for v in variants]
    accuracies = [100 * (metrics["by_variant"][v]["accuracy"] or 0.0) for v in variants]
    positions = np.arange(len(variants))
    figure, axes = plt.subplots(figsize=(2.0 + 0.5 * len(variants), 4.5))
    axes.bar(positions - 0.2, flips, 0.4, label="flip rate")
    axes.bar(positions + 0.2, accuracies, 0.4, label="accuracy")
    if metrics["clean"]["accuracy"] is not None:
        axes.axhline(100 * metrics["clean"]["accuracy"], color="black", linestyle="--", linewidth=1,
                     label="clean accuracy")
    axes.set_xticks(positions, variants, rotation=60, ha="right")
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.set_title(f"{entry['row']} · {entry['dataset']}", fontsize=10)
    axes.legend(fontsize=8)
    save_figure(figure, path)


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def _number(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _rounded(value, scale: float = 1.0, digits: int = 2):
    return None if value is None else round(scale * value, digits)
