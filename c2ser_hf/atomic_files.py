"""Files written whole or not at all: under a temporary name beside the target, then renamed."""

import json
import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write under a temporary name beside `path`, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    staging.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(staging, path)


def write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")
