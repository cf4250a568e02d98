"""The one way tests run the `c2ser-hf` command line: the installed console script, as a user runs it, with no
terminal on stdin (a prompt would fail loudly instead of waiting)."""

import subprocess
import sys
import time
from pathlib import Path

CONSOLE_SCRIPT = Path(sys.executable).parent / "c2ser-hf"


def cli_command(*args) -> list[str]:
    """The argv of `c2ser-hf ARGS…`, for tests that start the process themselves (Popen, torchrun)."""
    assert CONSOLE_SCRIPT.is_file(), f"the console script {CONSOLE_SCRIPT} is not installed"
    return [str(CONSOLE_SCRIPT), *map(str, args)]


def run_cli(*args, cwd=None, env=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `c2ser-hf ARGS…` to the end; the result also carries `seconds`, its wall time."""
    start = time.perf_counter()
    result = subprocess.run(cli_command(*args), capture_output=True, text=True, cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, timeout=timeout)
    result.seconds = time.perf_counter() - start
    return result
