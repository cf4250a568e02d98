"""Distributed environment variables are checked, and the rendezvous wait is bounded: one line, exit 2."""

import os
import time

import pytest

from c2ser_hf.corpus.ranks import Ranks
from cli_runner import run_cli


@pytest.mark.parametrize("variables, message", [
    ({"WORLD_SIZE": "0"}, "WORLD_SIZE='0': must be a whole number of at least 1"),
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two'"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2: must be below WORLD_SIZE=2"),
])
def test_bad_distributed_variables_are_one_line(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Ranks()


def test_a_missing_rank_ends_the_wait_at_the_bounded_timeout_naming_it(tmp_path):
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "29591", "C2SER_HF_RENDEZVOUS_MINUTES": "0.05"}
    started = time.monotonic()
    result = run_cli("evaluate", "--model", tmp_path / "m", "--dataset", tmp_path / "d", "--out", tmp_path / "o",
                     env=env, timeout=120)
    print(f"missing rank reported after {time.monotonic() - started:.1f} s: {result.stderr.strip()}")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "rank 1 did not join within 0.05 min" in result.stderr
