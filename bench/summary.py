"""One JSON line per benchmark run: printed after `SUMMARY `, and written to a file when asked (a device run's $OUT)."""

import json
from pathlib import Path


def emit(summary: dict, path: str | None) -> None:
    line = json.dumps(summary)
    print(f"SUMMARY {line}")
    if path:
        Path(path).write_text(line + "\n", encoding="utf-8")
