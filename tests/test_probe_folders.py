"""`probe --out` is a results folder: a user's files are never replaced (results.md), the dataset or model folder is
never the output, one run writes it at a time, a results.json that is not a probe's is one line, and a C2SER model
given as the encoder is one line naming what the probe takes. Each refusal: exit 2, one line, the folders unchanged
(names, sizes and hashes)."""

import hashlib
import json

import pytest

from c2ser_hf.cli import main
from c2ser_hf.output_folder import MARKER, hold_lock

from corpus_trees import prepared_probe_corpus

def listing(root):
    """Every file under `root` with its size and SHA-256."""
    return {str(p.relative_to(root)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A 2-fold corpus of 8 half-second clips and a tiny Emotion2Vec-S folder."""
    return prepared_probe_corpus(tmp_path_factory.mktemp("probe-folders"), per_class=2, seconds=0.5)[0]


def probe_args(root, out, *more):
    return ["probe", "--model", str(root / "e2v"), "--dataset", str(root / "corpus"), "--out", str(out),
            "--epochs", "1", "--batch-size", "4", "--heads", "paper", "--folds", "fold_1", *more]


def refused(argv, capsys, folders, message):
    """The CLI exits 2 with one line holding `message`; every folder of `folders` unchanged."""
    capsys.readouterr()
    before = [listing(folder) for folder in folders]
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and len(err.splitlines()) == 1, err
    assert [listing(folder) for folder in folders] == before
    return err


def test_a_users_results_md_is_never_replaced(root, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.md").write_text("| my own table |\n")
    err = refused(probe_args(root, mine), capsys, [mine], "holds files c2ser-hf did not write")
    print(err)
    refused(probe_args(root, mine, "--overwrite"), capsys, [mine], "holds files c2ser-hf did not write")


def test_the_dataset_or_model_folder_is_never_the_output(root, capsys):
    for out in (root / "corpus", root / "corpus" / "probe", root / "e2v", root / "e2v" / "probe", root):
        err = refused(probe_args(root, out), capsys, [root / "corpus", root / "e2v"], "overlaps the input")
        print(err)
    assert not (root / "corpus" / "probe").exists() and not (root / "e2v" / "probe").exists()


def test_a_c2ser_model_as_the_encoder_is_one_line(root, tmp_path, capsys):
    from c2ser_hf.new_model import write_random_c2ser

    write_random_c2ser(tmp_path / "c2ser", seed=0)
    argv = probe_args(root, tmp_path / "out")
    argv[argv.index("--model") + 1] = str(tmp_path / "c2ser")
    err = refused(argv, capsys, [tmp_path / "c2ser"], "is a C2SER model; probe needs a speech encoder")
    print(err)
    assert not (tmp_path / "out").exists()


def test_one_run_at_a_time_results_json_checked_and_overwrite_deletes_only_ours(root, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(probe_args(root, out)) == 0
    listed = json.loads((out / MARKER).read_text())["files"]
    assert {"results.json", "results.md"} <= set(listed) and any(name.startswith("features/") for name in listed)
    with hold_lock(out):  # another run holding the folder
        err = refused(probe_args(root, out), capsys, [], "another run is writing it (pid ")
        print(err)
    assert main(probe_args(root, out)) == 0  # resumes: nothing left to do
    (out / "results.json").write_text("[]")
    (out / "results.md.backup").write_text("the user's copy")
    err = refused(probe_args(root, out), capsys, [out], "results.json: is not a probe's results")
    assert "--overwrite" in err
    print(err)
    assert main(probe_args(root, out, "--overwrite")) == 0
    assert json.loads((out / "results.json").read_text())["results"]
    assert (out / "results.md.backup").read_text() == "the user's copy"
