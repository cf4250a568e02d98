"""Runs killed part-way: start a command, SIGKILL it once its JSON-lines output holds a few records (or once a file,
e.g. a training checkpoint, is written), and leave a half-written record behind as a kill in the middle of a write
would."""

import os
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


def kill_once_written(command: list[str], env: dict, path: Path, timeout: float = 600) -> None:
    """Run `command` until `path` exists, then SIGKILL its whole process group (a trainer and its dataloader
    workers). Fails when the command ends first or `timeout` seconds pass."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"{command[:4]} ended before writing {path}"
        assert time.monotonic() < deadline, f"{path} not written within {timeout} s"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
