"""The README body of a prepared corpus: what is in it, per label and language, and what was left out and why."""

from c2ser_hf.processing.emotion_parsing import EMOTIONS

_SKIPPED_LISTED = 20


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(str(cell) for cell in row) + " |" for row in rows
    ]


def dataset_card(rows, report, chosen: dict, written: dict) -> str:
    """`written` maps each part to the statistics (emotion, language, duration) of the rows written to it."""
    lines = [
        f"# {rows.corpus}",
        "",
        f"Prepared with `c2ser-hf prepare-data {rows.corpus}` from the {rows.layout}. Every row has 16 kHz mono audio "
        "(embedded FLAC), `emotion` (one of the seven canonical C2SER classes), the corpus's own `original_label`, "
        "`text`, `language`, `speaker`, `corpus`, `id` and `duration` in seconds.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'dataset = load_dataset("path/or/repo_id", "{next(iter(chosen))}")',
        "```",
        "",
        "## Configs and splits",
        "",
    ]
    table = []
    for config, splits in chosen.items():
        for split, parts in splits.items():
            emotions = [e for part in parts if part in written for e in written[part].emotion]
            table.append([config, split, len(emotions)] + [emotions.count(i) for i in range(len(EMOTIONS))])
    lines += _table(["config", "split", "rows", *EMOTIONS], table)

    every = [frame for frame in written.values()]
    languages = sorted({language for frame in every for language in frame.language})
    lines += ["", "## Rows per label and language (each row counted once)", ""]
    per_language = []
    for number, emotion in enumerate(EMOTIONS):
        counts = [sum(((frame.emotion == number) & (frame.language == language)).sum() for frame in every)
                  for language in languages]
        per_language.append([emotion, *counts, sum(counts)])
    totals = [sum(row[i + 1] for row in per_language) for i in range(len(languages) + 1)]
    lines += _table(["emotion", *[language or "(unknown)" for language in languages], "total"],
                    per_language + [["total", *totals]])
    hours = sum(frame.duration.sum() for frame in every) / 3600
    lines += ["", f"Total duration: {hours:.2f} h."]

    lines += ["", "## Label map", "", "Labels as the corpus writes them, and the canonical emotion each becomes.", ""]
    lines += _table(["original label", "emotion", "rows excluded"],
                    [[f"`{raw}`", emotion or "excluded (no canonical class)", report.excluded.get(raw, "")]
                     for raw, emotion in rows.label_map.items()])

    lines += ["", "## Filters", ""]
    lines.append(f"- Rows whose label has no canonical class: {sum(report.excluded.values())} excluded.")
    if report.max_seconds:
        lines.append(f"- Utterances longer than {report.max_seconds:g} s (the C2SER paper's filter): "
                     f"{report.too_long} dropped.")
    else:
        lines.append("- No duration filter.")
    if report.skipped:
        lines.append(f"- Bad source rows skipped: {len(report.skipped)}.")
        lines += [f"  - {reason}" for reason in report.skipped[:_SKIPPED_LISTED]]
        if len(report.skipped) > _SKIPPED_LISTED:
            lines.append(f"  - ... and {len(report.skipped) - _SKIPPED_LISTED} more")
    lines += [f"- {note}" for note in rows.notes]
    return "\n".join(lines) + "\n"
