"""Results folders (`evaluate`, `predict --dataset`): one writer at a time by an OS lock that dies with its process,
summaries that count each clip once, and nothing of the user's replaced or written into (one line, exit 2, the
user's files unchanged: names, sizes and hashes)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from c2ser_hf.cli import main
from c2ser_hf.output_folder import FolderBusyError, hold_lock

from corpus_trees import prepared_emo_emilia_with_tiny_model
from cli_runner import cli_command


def listing(root):
    """Every file under `root` with its size and SHA-256."""
    return {str(p.relative_to(root)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()}


def refused(argv, capsys, root, message):
    """The CLI exits 2 with one line holding `message`, `root` unchanged (None: a live run is writing it)."""
    capsys.readouterr()
    before = listing(root) if root else None
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and len(err.splitlines()) == 1, err
    assert root is None or listing(root) == before
    return err


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    with prepared_emo_emilia_with_tiny_model(tmp_path_factory.mktemp("results-folders")) as root:
        yield root


def environment(root):
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(root / "datasets-cache")}


def start_holding(command, env, records, count=1, timeout=300):
    """Start `command` and return it once `records` holds `count` lines (so it holds its folder's lock)."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not (records.is_file() and records.read_bytes().count(b"\n") >= count):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return process


def test_the_lock_refuses_a_second_holder_naming_it_and_dies_with_its_process(tmp_path):
    script = ("import time\nfrom c2ser_hf.output_folder import hold_lock\n"
              f"with hold_lock({str(tmp_path)!r}):\n    print('held', flush=True)\n    time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(FolderBusyError, match=f"another run is writing it \\(pid {holder.pid} on "):
        with hold_lock(tmp_path):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with hold_lock(tmp_path):
        pass
    assert time.monotonic() - started < 0.5


def test_concurrent_evaluate_is_refused_and_a_killed_holder_leaves_no_stale_lock(root, capsys):
    settings = ["--mode", "implicit", "--decoding", "greedy", "--max-new-tokens", "40", "--batch-size", "1"]
    argv = ["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--out",
            str(root / "shared"), *settings]
    predictions = root / "shared" / "tiny" / "emo-emilia-all-test" / "predictions.jsonl"
    first = start_holding(cli_command(*argv), environment(root), predictions)
    started = time.monotonic()
    refused(argv, capsys, None, f"another run is writing it (pid {first.pid} on ")
    print(f"second evaluate refused in {time.monotonic() - started:.1f} s")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert main(argv) == 0  # resumes: the lock died with its holder
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(records) == len({r["id"] for r in records}) == 14
    assert "(14 clips, 0 failed)" in capsys.readouterr().out


def test_summaries_count_each_clip_once(root, capsys):
    argv = ["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--out",
            str(root / "doubled"), "--batch-size", "4"]
    assert main(argv) == 0
    predictions = root / "doubled" / "tiny" / "emo-emilia-all-test" / "predictions.jsonl"
    predictions.write_text(predictions.read_text() * 2)  # what two unlocked runs into one folder wrote
    capsys.readouterr()
    for _ in range(2):
        assert main(argv) == 0
        assert "(14 clips, 0 failed)" in capsys.readouterr().out
        assert json.loads((root / "doubled" / "results.json").read_text())["results"][0]["clips"] == 14


def test_evaluate_never_replaces_or_writes_into_what_is_not_its_own(root, tmp_path, capsys):
    base = ["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--batch-size", "4"]
    users = tmp_path / "users"
    users.mkdir()
    (users / "results.md").write_text("my own table\n")
    refused([*base, "--out", str(users)], capsys, tmp_path, "holds files c2ser-hf did not write")
    refused([*base, "--out", str(users), "--overwrite"], capsys, tmp_path, "holds files c2ser-hf did not write")
    refused([*base, "--out", str(root / "tiny" / "eval")], capsys, root / "tiny", "overlaps the input")
    refused([*base, "--out", str(root / "tiny")], capsys, root / "tiny", "overlaps the input")

    out = tmp_path / "ours"
    assert main([*base, "--out", str(out)]) == 0
    backup = out / "tiny" / "emo-emilia-all-test" / "predictions.jsonl.rank_backup_2024"
    backup.write_text("the user's\n")
    (out / "tiny" / "notes.txt").write_text("the user's too\n")
    second = tmp_path / "second-model"
    second.mkdir()
    for file in (root / "tiny").iterdir():
        (second / file.name).symlink_to(file)
    refused(["evaluate", "--model", str(second), "--dataset", str(root / "emo-emilia"), "--out", str(out)], capsys,
            tmp_path, "holds results of another run (it differs in results)")
    assert main([*base, "--out", str(out), "--overwrite"]) == 0
    assert backup.read_text() == "the user's\n" and (out / "tiny" / "notes.txt").read_text() == "the user's too\n"


def test_config_and_split_names_never_become_paths(root, tmp_path, capsys):
    plain = tmp_path / "plain"
    for config, option in (("../../../../escaped", "--config"), ("../escaped", "--split")):
        refused(["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), option, config,
                 "--out", str(plain / "out")], capsys, tmp_path, "not a plain name")
    assert not plain.exists()


def test_concurrent_predict_dataset_is_refused_and_resumes_after_sigkill(root, capsys):
    argv = ["predict", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--split", "test",
            "--out", str(root / "labels"), "--batch-size", "1", "--max-new-tokens", "40", "--greedy"]
    predictions = root / "labels" / "predictions.jsonl"
    first = start_holding(cli_command(*argv), environment(root), predictions)
    refused(argv, capsys, None, f"another run is writing it (pid {first.pid} on ")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert main(argv) == 0
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(records) == len({r["id"] for r in records}) == 14
    assert capsys.readouterr().out.startswith("14 clips in ")
