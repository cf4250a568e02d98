"""Output folders (`new`, `convert`, `prepare-data`, `build-cot`): `--overwrite` replaces only a folder this package
wrote; the current folder, its ancestors, the inputs, foreign folders and files are refused with one line and exit 2
before any work, and nothing outside the output changes. A staging folder left by SIGKILL goes on the next run."""

import json
import signal
import subprocess
import sys

import pytest

from c2ser_hf.cli import main
from c2ser_hf.output_folder import MARKER

from corpus_trees import emo_emilia


def snapshot(root):
    """Every path under `root` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def refused(argv, capsys, root, message):
    """Run the CLI; it must exit 2 with one line containing `message`, and leave `root` exactly as it was."""
    capsys.readouterr()
    before = snapshot(root)
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and len(err.splitlines()) == 1, err
    assert snapshot(root) == before
    return err


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working folder holding someone's files, as the current folder, inside a parent with files of its own."""
    (tmp_path / "elsewhere.txt").write_text("keep me")
    folder = tmp_path / "work"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "todo.txt").write_text("keep me too")
    (folder / "data.csv").write_text("a,b\n")
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("out", [".", "..", "notes/..", "/"])
def test_current_folder_and_its_ancestors_are_refused(work, capsys, out):
    refused(["new", "--out", out, "--overwrite"], capsys, work.parent,
            f"{out}: is the current folder or one above it")


def test_a_foreign_folder_or_a_file_is_refused(work, capsys):
    refused(["new", "--out", "notes", "--overwrite"], capsys, work.parent,
            "notes: not replacing a folder that c2ser-hf did not write")
    refused(["new", "--out", "data.csv", "--overwrite"], capsys, work.parent,
            "data.csv: exists and is not a folder; not replacing it")
    refused(["new", "--out", "data.csv"], capsys, work.parent, "data.csv: exists and is not a folder")


def test_our_own_output_is_replaced_unless_it_holds_other_files(work, capsys):
    assert main(["new", "--out", "model"]) == 0
    listed = json.loads((work / "model" / MARKER).read_text())["files"]
    assert "config.json" in listed and "model.safetensors" in listed
    (work / "model" / "config.json").write_text("{}")  # ours, edited: still ours
    assert main(["new", "--out", "model", "--overwrite"]) == 0
    assert json.loads((work / "model" / "config.json").read_text())["model_type"] == "c2ser"
    assert sorted(p.name for p in work.iterdir()) == ["data.csv", "model", "notes"]  # no staging left
    (work / "model" / "my_results.txt").write_text("mine")
    refused(["new", "--out", "model", "--overwrite"], capsys, work.parent,
            "model: not replacing it: it holds files c2ser-hf did not write (my_results.txt)")


def test_a_folder_from_before_the_marker_is_refused(work, capsys):
    assert main(["new", "--out", "model"]) == 0
    (work / "model" / MARKER).unlink()
    refused(["new", "--out", "model", "--overwrite"], capsys, work.parent,
            f"model: not replacing a folder that c2ser-hf did not write (it has no readable {MARKER})")


def test_prepare_data_never_writes_over_or_inside_its_source(tmp_path, capsys):
    source = emo_emilia(tmp_path / "Emo-Emilia")
    for out in (source, source / "prepared", tmp_path):
        refused(["prepare-data", "emo-emilia", "--source", str(source), "--out", str(out), "--overwrite"], capsys,
                tmp_path, f"{out}: overlaps the input {source}")


def test_build_cot_output_over_its_input_or_a_file_is_refused_before_any_work(tmp_path, capsys):
    source = emo_emilia(tmp_path / "Emo-Emilia")
    assert main(["prepare-data", "emo-emilia", "--source", str(source), "--out", str(tmp_path / "ds")]) == 0
    capsys.readouterr()
    refused(["build-cot", "--dataset", str(tmp_path / "ds"), "--config", "zh", "--out", str(tmp_path / "ds"),
             "--overwrite"], capsys, tmp_path, "overlaps the input")
    (tmp_path / "cot").write_text("a file")
    refused(["build-cot", "--dataset", str(tmp_path / "ds"), "--config", "zh", "--out", str(tmp_path / "cot"),
             "--overwrite"], capsys, tmp_path, "cot: exists and is not a folder")  # no cot.work: nothing measured


def test_convert_refuses_its_checkpoint_as_output(tmp_path, capsys):
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"not read")
    refused(["convert", "emotion2vec", "--checkpoint", str(checkpoint), "--out", str(checkpoint), "--overwrite"],
            capsys, tmp_path, "checkpoint.pt: overlaps the input")
    refused(["convert", "emotion2vec", "--checkpoint", str(checkpoint), "--out", str(tmp_path), "--overwrite"],
            capsys, tmp_path, "overlaps the input")


STAGE_AND_WAIT = """
import sys, time
from c2ser_hf.output_folder import atomic_output_dir
with atomic_output_dir(sys.argv[1]) as staging:
    (staging / "half.bin").write_bytes(b"x" * 1000)
    print(staging, flush=True)
    time.sleep(600)
"""


def test_a_staging_folder_left_by_sigkill_is_removed_by_the_next_run(tmp_path, capsys):
    (tmp_path / "other.txt").write_text("not ours")
    process = subprocess.Popen([sys.executable, "-c", STAGE_AND_WAIT, str(tmp_path / "model")], stdout=subprocess.PIPE,
                               text=True)
    staging = process.stdout.readline().strip()
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    assert staging.endswith(".partial") and (tmp_path / staging).is_dir() and not (tmp_path / "model").exists()
    before = snapshot(tmp_path)
    assert main(["new", "--out", str(tmp_path / "model")]) == 0
    after = snapshot(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "other.txt"]
    assert after["other.txt"] == before["other.txt"]
    assert {k for k in after if not k.startswith("model")} == {"other.txt"}
