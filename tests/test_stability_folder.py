"""`evaluate --stability --out` holds its folder as `evaluate` does: one run at a time by the OS lock, a user's
stability.md never replaced, a config name that is a path refused, a rerun of the same run resuming, and the marker
listing every file the run wrote (refusals: exit 2, one line, the folder unchanged)."""

import hashlib
import json

import pytest

from c2ser_hf.cli import main
from c2ser_hf.output_folder import MARKER, hold_lock

from corpus_trees import prepared_emo_emilia_with_tiny_model


def listing(root):
    """Every file under `root` with its size and SHA-256."""
    return {str(p.relative_to(root)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    with prepared_emo_emilia_with_tiny_model(tmp_path_factory.mktemp("stability-folder")) as root:
        one = {mode: {"en": [f"Name the emotion of this speech ({mode})."], "zh": ["这段语音是什么情感？"]}
               for mode in ("implicit", "explicit")}
        (root / "one-prompt.json").write_text(json.dumps({"replace": True, **one}), encoding="utf-8")
        yield root


def stability(root, out, dataset=None):
    return ["evaluate", "--model", str(root / "tiny"), "--dataset", dataset or f"{root / 'emo-emilia'}:zh",
            "--stability", "prompts", "--paraphrases", str(root / "one-prompt.json"), "--answer-language", "zh",
            "--out", str(out)]


def refused(argv, capsys, folder, message):
    capsys.readouterr()
    before = listing(folder)
    status = main(argv)
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and len(err.splitlines()) == 1, err
    assert listing(folder) == before
    return err


def test_the_stability_folder_is_locked_marked_and_never_takes_a_users_file(root, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stability.md").write_text("my notes\n")
    print(refused(stability(root, mine), capsys, mine, "holds files c2ser-hf did not write"))
    escaping = [*stability(root, tmp_path / "out", str(root / "emo-emilia")), "--config", "../../escaped"]
    print(refused(escaping, capsys, tmp_path, "config '../../escaped': not a plain name"))

    out = tmp_path / "out"
    assert main(stability(root, out)) == 0
    listed = set(json.loads((out / MARKER).read_text())["files"])
    written = {name for name in listing(out) if name != MARKER and not name.endswith(".lock")}
    assert written <= listed and {"results.json", "stability.md", "tiny/eval_results.json"} <= written, written
    with hold_lock(out):
        print(refused(stability(root, out), capsys, out, "another run is writing it (pid "))
    before = (out / "tiny" / "emo-emilia-zh-test-stability-scores" / "predictions.jsonl").read_bytes()
    assert main(stability(root, out)) == 0  # the same run resumes, with nothing left to score
    assert (out / "tiny" / "emo-emilia-zh-test-stability-scores" / "predictions.jsonl").read_bytes() == before
