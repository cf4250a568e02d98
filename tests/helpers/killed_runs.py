"""Runs killed part-way: start a command, SIGKILL it once its JSON-lines output holds a few records, and leave a
half-written record behind as a kill in the middle of a write would."""

import signal
import subprocess
import time
from pathlib import Path


def kill_after_records(command: list[str], env: dict, records: Path, count: int = 2, timeout: float = 120) -> None:
    """Run `command` until `records` has `count` complete lines (or `timeout` seconds pass), then SIGKILL it."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not (records.is_file() and records.read_bytes().count(b"\n") >= count) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


def append_partial_record(records: Path, start: bytes) -> None:
    """What a kill in the middle of a write leaves at the end of a JSON-lines file."""
    with open(records, "ab") as handle:
        handle.write(start)
