"""`probe` on a 40-clip corpus whose audio bytes are broken for some clips: one broken clip is left out by name and
the probe finishes; ten stop it in one line naming them (more than 1 %, rounded up: one in 40)."""

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c2ser_hf.cli import main

from corpus_trees import prepared_probe_corpus


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """(root, clip ids): a 2-fold corpus of 40 short clips (10 per class and session) and a tiny Emotion2Vec-S."""
    return prepared_probe_corpus(tmp_path_factory.mktemp("probe-bad-clips"), per_class=10, seconds=0.3)


def with_broken_clips(root, broken: set[str], name: str):
    """A copy of the prepared corpus whose clips `broken` hold text instead of audio bytes."""
    corpus = root / name
    shutil.copytree(root / "corpus", corpus)
    for path in (corpus / "data").glob("*.parquet"):
        table = pq.read_table(path)
        audio = table.column("audio").to_pylist()
        for row, clip_id in enumerate(table.column("id").to_pylist()):
            if clip_id in broken:
                audio[row] = {**audio[row], "bytes": b"not audio at all"}
        column = table.schema.get_field_index("audio")
        table = table.set_column(column, table.schema.field(column), pa.array(audio, table.schema.field(column).type))
        pq.write_table(table, path)
    return corpus


def probe_args(root, corpus, out):
    return ["probe", "--model", str(root / "e2v"), "--dataset", str(corpus), "--out", str(out), "--epochs", "1",
            "--batch-size", "4", "--heads", "paper", "--folds", "fold_1"]


def test_one_broken_clip_in_40_is_left_out_by_name(prepared, tmp_path, capsys):
    root, _ = prepared
    corpus = with_broken_clips(root, {"c-s2-SAD-3"}, "one-broken")
    assert main(probe_args(root, corpus, tmp_path / "out")) == 0
    out = capsys.readouterr().out
    left_out = [line for line in out.splitlines() if line.startswith("left out")]
    print("\n".join(left_out))
    assert len(left_out) == 1 and "clip c-s2-SAD-3: could not be decoded as audio" in left_out[0]
    assert "| paper |" in out


def test_ten_broken_clips_in_40_stop_the_probe_naming_them(prepared, tmp_path, capsys):
    root, ids = prepared
    broken = set(ids[::4])
    corpus = with_broken_clips(root, broken, "ten-broken")
    assert main(probe_args(root, corpus, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("c2ser-hf probe: error:")]  # beside progress bars
    print(line)
    assert "Traceback" not in err and "10 of 40 clips cannot be used, more than 1%" in line
    assert all(clip_id in line for clip_id in broken)
