"""predictions.jsonl: one JSON object per scored clip, appended and fsync'd batch by batch, so that a killed evaluation
resumes where it stopped and never scores a clip twice."""

import json
import os
from pathlib import Path


def read_predictions(path: str | os.PathLike, repair: bool = False) -> list[dict]:
    """The records of a predictions file. A last line without its newline is the torn write of a killed run: it is
    left out, and with `repair` cut off the file so that appending goes on after the last complete record. Any other
    line that is not a JSON object is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete = data.rfind(b"\n") + 1
    if repair and complete < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(complete)
            os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(data[:complete].decode("utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not a JSON line ({error.msg})") from None
        if not isinstance(record, dict) or "id" not in record:
            raise ValueError(f"{path}:{number}: a prediction record needs an object with an 'id'")
        records.append(record)
    return records


def append_predictions(path: str | os.PathLike, records: list[dict]) -> None:
    """Append `records` in one write and wait until they are on disk."""
    if not records:
        return
    data = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    with open(path, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
