"""The staged Space served for real: `python app.py` in its folder, on a loopback port, as the Hub runs it."""

import subprocess
import threading
import time

import pytest


def start_space(command: list[str], folder, env: dict, timeout: float = 120.0):
    """(the server process, its output lines so far): started with `command` in `folder`, once it says where it
    runs; a Space that exits or stays silent for `timeout` seconds fails the test with the end of its output."""
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    log, ready = [], threading.Event()

    def read():
        for line in process.stdout:
            log.append(line)
            if "Running on local URL" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.is_set() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not ready.is_set():
        process.kill()
        pytest.fail("the Space did not start:\n" + "".join(log[-40:]))
    return process, log
