"""`c2ser-hf predict --dataset` / `predict_dataset` on a prepared Emo-Emilia (14 clips) with the tiny model: 2
processes equal 1, a SIGKILLed run resumes to the same records, streaming equals reading whole, per-clip answer
languages, a broken clip in a stream, bad arguments."""

import json
import os
import subprocess
import sys

import datasets
import pytest

from c2ser_hf.cli import main
from c2ser_hf.corpus.prediction import predict_dataset
from c2ser_hf.inference import run_inference
from c2ser_hf.model_loading import load_c2ser
from c2ser_hf.processing import EMOTIONS

from corpus_trees import prepared_emo_emilia_with_tiny_model
from killed_runs import append_partial_record, kill_after_records
from cli_runner import cli_command

SETTINGS = ["--scores-only", "--batch-size", "2"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    with prepared_emo_emilia_with_tiny_model(tmp_path_factory.mktemp("corpus")) as root:
        yield root


@pytest.fixture(scope="module")
def one(root):
    """The reference: one process, the whole dataset, scores only."""
    assert main(["predict", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--out",
                 str(root / "one"), *SETTINGS]) == 0
    return lines(root / "one" / "predictions.jsonl")


def lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def environment(root) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(root / "datasets-cache")}


def test_records_of_every_clip(root, one):
    records = [json.loads(line) for line in one]
    assert len({r["id"] for r in records}) == 14 and all(set(r) == {"id", "emotion", "scores"} for r in records)
    assert all(abs(sum(r["scores"].values()) - 1) < 1e-5 and r["emotion"] in EMOTIONS for r in records)
    run = json.loads((root / "one" / "run.json").read_text())
    assert run["split"] == "test" and run["mode"] is None and run["scores"] is True


def test_two_processes_equal_one(root, one):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", *cli_command(),
               "predict", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--out",
               str(root / "two"), *SETTINGS]
    result = subprocess.run(command, env=environment(root), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "14 clips in" in result.stdout and "2 processes" in result.stdout
    assert sorted(lines(root / "two" / "predictions.jsonl")) == sorted(one)
    assert not list((root / "two").glob("*.rank*"))  # merged by rank 0


def test_sigkill_then_rerun_gives_every_clip_once(root, one):
    out = root / "killed"
    command = [*cli_command("predict"), "--model", str(root / "tiny"), "--dataset",
               str(root / "emo-emilia"), "--out", str(out), "--scores-only", "--batch-size", "1"]
    predictions = out / "predictions.jsonl"
    kill_after_records(command, environment(root), predictions)
    before = lines(predictions)
    assert 2 <= len(before) < 14, f"{len(before)} of 14 clips were done when the run was killed"
    append_partial_record(predictions, b'{"id": "EN_B000')
    assert main(command[1:]) == 0
    after = lines(predictions)
    assert after[: len(before)] == before and len(after) == 14
    # batch size 1 here, 2 in the reference: the scores of a clip do not depend on its batch
    resumed = {r["id"]: r for r in map(json.loads, after)}
    for record in map(json.loads, one):
        assert resumed[record["id"]]["emotion"] == record["emotion"]
        assert max(abs(resumed[record["id"]]["scores"][e] - record["scores"][e]) for e in EMOTIONS) <= 1e-6


def test_streaming_with_each_clips_answer_language(root):
    model, processor = load_c2ser(root / "tiny")
    summary = predict_dataset(model, processor, root / "emo-emilia", root / "streamed", mode=None, scores=True,
                              batch_size=4, answer_language="dataset", streaming=True, progress=False)
    assert summary["clips"] == 14 and summary["failed"] == 0 and summary["processes"] == 1
    records = {r["id"]: r for r in map(json.loads, lines(root / "streamed" / "predictions.jsonl"))}
    rows = datasets.load_dataset(str(root / "emo-emilia"), split="test")
    for row in rows.select(range(0, 14, 5)):  # both languages
        samples = row["audio"].get_all_samples()
        (expected,) = run_inference(model, processor, [samples.data.mean(0).numpy()], mode=None, scores=True,
                                    sampling_rate=samples.sample_rate, answer_language=row["language"])
        scores = records[row["id"]]["scores"]
        assert max(abs(scores[e] - expected["windows"][0]["scores"][e]) for e in EMOTIONS) <= 1e-6


def test_a_broken_clip_in_a_stream_fails_alone(root, tmp_path, capsys):
    from audio_fixtures import tone

    tone(tmp_path / "a.wav", seconds=0.5, rate=22050)
    clip = {"bytes": (tmp_path / "a.wav").read_bytes(), "path": None}
    rows = {"audio": [clip, {"bytes": b"not audio at all", "path": None}, clip], "id": ["a", "b", "c"]}
    datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio()).save_to_disk(str(tmp_path / "plain"))
    assert main(["predict", "--model", str(root / "tiny"), "--dataset", str(tmp_path / "plain"), "--streaming",
                 "--out", str(tmp_path / "out"), "--scores-only"]) == 1
    assert "row 1 (id 'b'): could not be decoded as audio" in capsys.readouterr().err
    records = {r["id"]: r for r in map(json.loads, lines(tmp_path / "out" / "predictions.jsonl"))}
    assert set(records) == {"a", "b", "c"} and "error" in records["b"]
    assert records["a"]["scores"] == records["c"]["scores"]


@pytest.mark.parametrize("arguments, message", [
    (["a.wav", "--dataset", "d", "--out", "o"], "give audio files, or --dataset (with --out), not both"),
    (["--dataset", "d"], "--dataset needs --out"),
    (["a.wav", "--answer-language", "dataset"], "--answer-language dataset reads a dataset's language column"),
])
def test_bad_arguments_get_one_line(arguments, message, capsys):
    assert main(["predict", "--model", "m", *arguments]) == 2
    assert message in capsys.readouterr().err
