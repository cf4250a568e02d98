"""Reading the metadata files of corpus distributions, with errors that name the file and line."""

import csv
import json
from pathlib import Path

from .schema import CorpusLayoutError


def require(path: Path, what: str) -> Path:
    """`path`, which the layout needs; a clear error when it is missing."""
    if not path.exists():
        raise CorpusLayoutError(f"{path}: missing ({what})")
    return path


def jsonl_rows(path: Path, fields: tuple[str, ...]):
    """(line number, object) for each non-empty line; every object must be a JSON object with `fields`."""
    with open(require(path, "JSON-lines metadata"), encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusLayoutError(f"{path}:{number}: not valid JSON ({error.msg})") from error
            missing = [name for name in fields if not isinstance(row, dict) or name not in row]
            if missing:
                raise CorpusLayoutError(f"{path}:{number}: missing field(s) {missing}")
            yield number, row


def csv_rows(path: Path, fields: tuple[str, ...], **reader_options):
    """(line number, row dict) for each data row of a CSV file whose header has `fields`."""
    with open(require(path, "CSV metadata"), encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, **reader_options)
        missing = [name for name in fields if name not in (reader.fieldnames or ())]
        if missing:
            raise CorpusLayoutError(f"{path}:1: header lacks column(s) {missing} (has {reader.fieldnames})")
        for row in reader:
            if any(row[name] is None for name in fields):
                raise CorpusLayoutError(f"{path}:{reader.line_num}: row has fewer columns than the header")
            yield reader.line_num, row


def audio_files(folder: Path, pattern: str = "*.wav") -> list[Path]:
    """The audio files below `folder`, sorted so that builds are reproducible."""
    return sorted(require(folder, "audio folder").rglob(pattern))
