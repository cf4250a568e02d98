"""`train` and `pretrain-emotion2vec` under the output-folder rules, and their bad input refused early: each case is
one line, exit 2, before any model loads (timed in-process, imports warm), the folder's listing (names, sizes,
hashes) unchanged; a corpus with 1 undecodable clip in 40 trains and names it (`data/skipped_rows` logged), 10 in
40 stop the run naming them."""

import hashlib
import io
import json
import time

import datasets
import numpy as np
import pytest
import soundfile as sf

from c2ser_hf.cli import main
from c2ser_hf.emotion2vec_training import RECIPES
from c2ser_hf.new_model import write_random_c2ser, write_random_emotion2vec_s
from c2ser_hf.processing.emotion_parsing import EMOTIONS

TRAIN = ["train", "--config", "stage2_implicit", "--use_cpu", "true", "--bf16", "false", "--dtype", "float32",
         "--gradient_checkpointing", "false", "--per_device_train_batch_size", "2", "--gradient_accumulation_steps",
         "1", "--report_to", "none"]


def listing(root):
    """Every file under `root` with its size and SHA-256."""
    return {str(p.relative_to(root)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()}


def wav_bytes(seconds: float, seed: int) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * (150 + 10 * seed) * t)).astype(np.float32), 16000, format="WAV")
    return buffer.getvalue()


def corpus(folder, broken: set[int], rows: int = 40):
    """`rows` clips (id, audio, emotion, both targets) saved to disk; the rows in `broken` hold bytes that are no
    audio."""
    features = datasets.Features({"id": datasets.Value("string"), "audio": datasets.Audio(),
                                  "emotion": datasets.Value("string"), "explicit_target": datasets.Value("string"),
                                  "implicit_target": datasets.Value("string")})
    datasets.Dataset.from_list([
        {"id": f"clip{i:02d}", "audio": {"bytes": b"not audio at all" if i in broken else wav_bytes(0.4, i),
                                         "path": None},
         "emotion": EMOTIONS[i % 7], "explicit_target": f"The speaker sounds like {EMOTIONS[i % 7]}.",
         "implicit_target": f"The emotion of this speech is {EMOTIONS[i % 7]}."} for i in range(rows)
    ], features=features).save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    write_random_c2ser(root / "c2ser")
    write_random_emotion2vec_s(root / "e2v")
    corpus(root / "one_bad", {7})
    corpus(root / "ten_bad", set(range(0, 40, 4)))
    return root


def refused(argv, capsys, root, message):
    """The CLI exits 2 with one line holding `message`, in under 5 s (no model loads), `root` unchanged."""
    capsys.readouterr()
    before = listing(root)
    start = time.perf_counter()
    assert main([str(a) for a in argv]) == 2
    seconds = time.perf_counter() - start
    lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], lines
    assert listing(root) == before
    assert seconds < 5, seconds
    with capsys.disabled():
        print(f"{seconds:.2f} s: {lines[0]}")


def test_train_refuses_folders_and_bad_settings_before_loading(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, data = inputs / "c2ser", inputs / "one_bad"
    user = tmp_path / "user"
    user.mkdir()
    (user / "README.md").write_text("my own notes\n")
    start = [*TRAIN, "--model_name_or_path", model, "--dataset_name", data, "--save_format", "merged"]
    refused([*start, "--output_dir", user], capsys, user, "holds files c2ser-hf did not write")
    refused([*start, "--output_dir", model], capsys, model, "overlaps the input")
    refused([*start, "--output_dir", data], capsys, data, "overlaps the input")
    refused([*TRAIN, "--model_name_or_path", model, "--dataset_name", "corpora/missing", "--save_format", "merged",
             "--output_dir", "run"], capsys, tmp_path, "dataset corpora/missing: no such local folder")
    refused([*start, "--output_dir", "run", "--max_steps", "four"], capsys, tmp_path, "invalid int value: 'four'")
    refused([*start, "--output_dir", "run", "--max_steps", "0"], capsys, tmp_path, "max_steps 0")
    refused([*TRAIN, "--model_name_or_path", model, "--dataset_name", data, "--output_dir", "run"], capsys, tmp_path,
            "use save_format merged")


def pretrain_argv(model, data, out, *more):
    sets = {"model": str(model), "datasets": [{"path": str(data), "split": "train"}], "output_dir": str(out),
            "max_steps": 1, "per_device_train_batch_size": 2, "use_cpu": True, "report_to": "none",
            "logging_steps": 1}
    return ["pretrain-emotion2vec", "--config", f"{RECIPES}/emotion2vec_s.yaml",
            *[x for name, value in sets.items() for x in ("--set", f"{name}={json.dumps(value)}")], *more]


def test_pretrain_refuses_folders_and_bad_settings_before_loading(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, data = inputs / "e2v", inputs / "one_bad"
    refused(pretrain_argv(model, data, model), capsys, model, "overlaps the input")
    refused(pretrain_argv(model, "corpora/missing", "run"), capsys, tmp_path,
            "dataset corpora/missing: no such local folder")
    refused(pretrain_argv(model, data, "run", "--set", "max_steps=four"), capsys, tmp_path,
            "max_steps must be int, got 'four'")
    refused(pretrain_argv(model, data, "run", "--set", "x=[unclosed"), capsys, tmp_path, "not valid YAML")
    refused(pretrain_argv(model, data, "run", "--set", "max_steps=0"), capsys, tmp_path, "max_steps 0")


def test_probe_refuses_a_missing_dataset_path_before_loading(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(["probe", "--model", inputs / "e2v", "--dataset", "corpora/missing", "--out", "results"], capsys,
            tmp_path, "dataset corpora/missing: no such local folder")


def skipped_rows(out) -> list:
    state = json.loads(next(out.glob("checkpoint-*/trainer_state.json")).read_text())
    return [entry["data/skipped_rows"] for entry in state["log_history"] if "data/skipped_rows" in entry]


def test_train_skips_one_bad_clip_by_name_and_stops_at_ten(inputs, tmp_path, capsys, caplog):
    argv = [*TRAIN, "--model_name_or_path", inputs / "c2ser", "--save_format", "merged", "--max_steps", "2",
            "--save_steps", "2"]
    assert main([str(a) for a in [*argv, "--dataset_name", inputs / "one_bad", "--output_dir", tmp_path / "a"]]) == 0
    assert "clip07" in caplog.text and skipped_rows(tmp_path / "a") == [1]
    marker = json.loads((tmp_path / "a" / ".c2ser-hf-output.json").read_text())
    assert "checkpoint-2/trainer_state.json" in marker["files"] and "model/config.json" in marker["files"]
    refused([*argv, "--dataset_name", inputs / "ten_bad", "--output_dir", tmp_path / "b"], capsys, inputs,
            "10 of 40 rows")
    # the same run again resumes (here: nothing left to do); another seed is another run, refused
    assert main([str(a) for a in [*argv, "--dataset_name", inputs / "one_bad", "--output_dir", tmp_path / "a"]]) == 0
    assert "resuming from" in capsys.readouterr().out
    refused([*argv, "--dataset_name", inputs / "one_bad", "--output_dir", tmp_path / "a", "--seed", "7"], capsys,
            tmp_path / "a", "holds results of another run (it differs in seed)")


def test_pretrain_skips_one_bad_clip_by_name_and_stops_at_ten(inputs, tmp_path, capsys, caplog):
    assert main(pretrain_argv(inputs / "e2v", inputs / "one_bad", tmp_path / "a", "--set", "save_steps=1")) == 0
    assert "clip07" in caplog.text and skipped_rows(tmp_path / "a") == [1]
    refused(pretrain_argv(inputs / "e2v", inputs / "ten_bad", tmp_path / "b"), capsys, inputs, "10 of 40 rows")
