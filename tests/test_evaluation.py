"""`c2ser-hf evaluate` / `evaluate_model` on a synthetic dataset in the Emo-Emilia layout with the tiny model: every
output, resume after SIGKILL, 2 processes = 1, re-scoring saved predictions, the LLM judge, a classifier baseline."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from c2ser_hf.cli import main
from c2ser_hf.evaluation import evaluate_model, load_metric
from c2ser_hf.model_card import model_card
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForSequenceClassification
from c2ser_hf.new_model import write_random_emotion2vec_s
from c2ser_hf.processing import EMOTIONS, Emotion2VecSFeatureExtractor
from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer

from corpus_trees import prepared_emo_emilia_with_tiny_model
from killed_runs import append_partial_record, kill_after_records
from llm_endpoint_standin import LLMEndpointStandIn
from cli_runner import cli_command
from one_thread import one_thread

EMOTION2VEC_PLUS_LABELS = ["生气/angry", "厌恶/disgusted", "恐惧/fearful", "开心/happy", "中立/neutral", "其他/other",
                           "难过/sad", "吃惊/surprised", "<unk>"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The tiny model, a prepared Emo-Emilia (7 emotions × zh/en) and a datasets cache of our own."""
    with prepared_emo_emilia_with_tiny_model(tmp_path_factory.mktemp("evaluation")) as root:
        yield root


@pytest.fixture(scope="module")
def scores_run(root):
    with one_thread():
        return evaluate_model(root / "tiny", root / "emo-emilia", root / "one", batch_size=2, progress=False)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_writes_every_output(root, scores_run):
    out = root / "one"
    [entry] = scores_run["results"]
    assert entry["dataset"] == "emo-emilia/all/test" and entry["row"] == "tiny (scores)"
    assert entry["clips"] == 14 and entry["failed"] == 0 and entry["scored_now"] == 14 and entry["clips_per_s"] > 0
    metrics = entry["metrics"]
    assert {"wa", "ua", "macro_f1", "per_class", "confusion_matrix", "unparseable_rate", "nll", "brier", "ece"} <= set(metrics)
    assert sum(map(sum, metrics["confusion_matrix"])) == 14 and metrics["unparseable_rate"] == 0
    assert set(entry["by_language"]) == {"en", "zh"}
    assert scores_run["versions"]["transformers"] and scores_run["settings"]["mode"] == "scores"
    assert json.loads((out / "results.json").read_text()) == scores_run

    folder = out / "tiny" / "emo-emilia-all-test"
    records = [json.loads(line) for line in lines(folder / "predictions.jsonl")]
    assert len({r["id"] for r in records}) == 14
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 and r["prediction"] in EMOTIONS for r in records)
    assert (folder / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = lines(out / "results.md")
    assert table[0] == "| Model | emo-emilia/all/test UA (%) | emo-emilia/all/test WA (%) | emo-emilia/all/test F1 (%) |"
    assert table[2] == f"| tiny (scores) | {100 * metrics['ua']:.2f} | {100 * metrics['wa']:.2f} | {100 * metrics['macro_f1']:.2f} |"

    # the model card of `push` shows eval_results.json copied next to the model
    card_folder = root / "card"
    shutil.copytree(root / "tiny", card_folder)
    shutil.copy(out / "tiny" / "eval_results.json", card_folder)
    row = [100 * metrics[key] for key in ("macro_f1", "ua", "wa", "unparseable_rate")]  # the card sorts metric names
    assert "| emo-emilia/all/test (scores) | " + " | ".join(f"{v:.2f}" for v in row) + " |" in model_card(
        card_folder, "someone/tiny")


def test_two_processes_equal_one(root, scores_run):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(root / "datasets-cache")}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", *cli_command(),
               "evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"),
               "--batch-size", "2", "--out", str(root / "two")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    two = json.loads((root / "two" / "results.json").read_text())
    assert two["settings"]["processes"] == 2
    assert two["results"][0]["metrics"] == scores_run["results"][0]["metrics"]
    folder = "tiny/emo-emilia-all-test/predictions.jsonl"
    assert sorted(lines(root / "two" / folder)) == sorted(lines(root / "one" / folder))
    assert not list((root / "two" / "tiny" / "emo-emilia-all-test").glob("*.rank*"))  # merged by rank 0


def test_sigkill_then_rerun_gives_the_same_results_scoring_no_clip_twice(root):
    settings = ["--mode", "implicit", "--decoding", "official", "--max-new-tokens", "40", "--batch-size", "2"]
    command = [*cli_command("evaluate"), "--model", str(root / "tiny"), "--dataset",
               str(root / "emo-emilia"), "--out", str(root / "killed"), *settings]
    predictions = root / "killed" / "tiny" / "emo-emilia-all-test" / "predictions.jsonl"
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(root / "datasets-cache")}
    kill_after_records(command, environment, predictions)
    before = lines(predictions)
    assert 2 <= len(before) < 14, f"{len(before)} of 14 clips were done when the run was killed"
    append_partial_record(predictions, b'{"id": "ZH_B00006_S00010_W00')

    assert main(["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--out",
                 str(root / "killed"), *settings]) == 0
    after = lines(predictions)
    assert after[: len(before)] == before and len(after) == 14 and len({json.loads(x)["id"] for x in after}) == 14
    resumed = json.loads((root / "killed" / "results.json").read_text())["results"][0]
    assert resumed["scored_now"] == 14 - len(before)

    whole = evaluate_model(root / "tiny", root / "emo-emilia", root / "whole", mode="implicit", decoding="official",
                           max_new_tokens=40, batch_size=2, progress=False)["results"][0]
    assert resumed["metrics"] == whole["metrics"]
    assert sorted(after) == sorted(lines(root / "whole" / "tiny" / "emo-emilia-all-test" / "predictions.jsonl"))


def test_saved_predictions_are_scored_again_without_a_model(root, scores_run, capsys):
    saved = root / "one" / "tiny" / "emo-emilia-all-test" / "predictions.jsonl"
    assert main(["evaluate", "--predictions", str(saved), "--out", str(root / "rescored")]) == 0
    assert "tiny (scores) · emo-emilia/all/test: UA" in capsys.readouterr().out
    rescored = json.loads((root / "rescored" / "results.json").read_text())["results"][0]
    assert rescored["metrics"] == scores_run["results"][0]["metrics"]
    for output in ("results.md", "tiny/eval_results.json"):
        assert (root / "rescored" / output).read_text() == (root / "one" / output).read_text()
    assert (root / "rescored" / "tiny" / "emo-emilia-all-test" / "confusion.png").is_file()

    # a local LLM as the judge (a tiny random one, so only the bookkeeping can be checked)
    tokenizer = build_tiny_qwen2_tokenizer()
    torch.manual_seed(0)
    Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2)).save_pretrained(root / "judge-llm")
    tokenizer.save_pretrained(root / "judge-llm")
    assert main(["evaluate", "--predictions", str(saved), "--judge", str(root / "judge-llm"), "--out",
                 str(root / "judged")]) == 0
    top = json.loads((root / "judged" / "results.json").read_text())
    judged = top["results"][0]
    assert judged["row"] == "tiny (scores, judge)" and top["settings"]["judge"]["backend"] == "transformers"
    assert judged["judge"]["parser"]["wa"] == rescored["metrics"]["wa"] and 0 <= judged["judge"]["agreement_with_parser"] <= 1


def test_judge_endpoint_reads_the_answers(root):
    def reply(prompt, temperature):
        assert prompt.startswith("Given the following text, determine its corresponding emotion") and "\n\nText: " in prompt
        return "Fear."

    endpoint = LLMEndpointStandIn(reply)
    try:
        results = evaluate_model(root / "tiny", root / "emo-emilia", root / "judge", mode="explicit", decoding="greedy",
                                 max_new_tokens=12, batch_size=7, judge=endpoint.url, configs="en", progress=False)
    finally:
        endpoint.close()
    [entry] = results["results"]
    assert len(endpoint.requests) == 7 and entry["row"] == "tiny (explicit, greedy, judge)"
    assert entry["metrics"]["per_class"]["fear"]["recall"] == 1.0 and entry["metrics"]["wa"] == pytest.approx(1 / 7)
    records = [json.loads(x) for x in lines(root / "judge" / "tiny" / "emo-emilia-en-test" / "predictions.jsonl")]
    agreement = sum(r["prediction"] == "fear" for r in records) / 7
    assert entry["judge"]["agreement_with_parser"] == agreement and results["settings"]["judge"]["backend"] == "endpoint"


def test_classifier_baseline_shares_the_table(root, scores_run):
    config = Emotion2VecSConfig(hidden_size=32, num_hidden_layers=2, num_prenet_layers=1, num_attention_heads=4,
                                intermediate_size=64, conv_dim=(16,) * 7, conv_pos_kernel_size=5,
                                num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
                                id2label=dict(enumerate(EMOTION2VEC_PLUS_LABELS)))
    torch.manual_seed(0)
    Emotion2VecSForSequenceClassification(config).save_pretrained(root / "emotion2vec-plus")
    Emotion2VecSFeatureExtractor().save_pretrained(root / "emotion2vec-plus")
    with one_thread():
        results = evaluate_model([root / "tiny", root / "emotion2vec-plus"], root / "emo-emilia", root / "both",
                                 batch_size=2, progress=False)
    labels = results["models"][1]["settings"]["labels"]
    assert labels["开心/happy"] == "happiness" and labels["其他/other"] is None and labels["<unk>"] is None
    tiny, baseline = results["results"]
    assert tiny["metrics"] == scores_run["results"][0]["metrics"] and baseline["row"] == "emotion2vec-plus (classifier)"
    records = [json.loads(x) for x in lines(root / "both" / "emotion2vec-plus" / "emo-emilia-all-test" / "predictions.jsonl")]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in records)
    table = lines(root / "both" / "results.md")
    assert [row.split(" |")[0] for row in table[2:]] == ["| tiny (scores)", "| emotion2vec-plus (classifier)"]


def test_bad_inputs_get_one_line(root, scores_run, tmp_path, capsys):
    base = ["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia")]
    assert main([*base, "--label-column", "speaker", "--out", str(tmp_path / "a")]) == 2
    assert "row 0 has label '', which names none of anger" in capsys.readouterr().err
    assert main([*base, "--label-column", "mood", "--out", str(tmp_path / "a")]) == 2
    assert "no column 'mood'" in capsys.readouterr().err
    assert main([*base, "--mode", "implicit", "--out", str(root / "one")]) == 2
    assert "holds predictions of another run (it differs in setting, settings)" in capsys.readouterr().err
    assert main(["evaluate", "--predictions", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: no such predictions file" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(root / "tiny")]) == 2
    assert "give --model and --dataset" in capsys.readouterr().err

    write_random_emotion2vec_s(tmp_path / "emotion2vec-s")  # no classification head
    (tmp_path / "clip.wav").write_bytes(b"RIFF")
    capsys.readouterr()
    for value, message in ((tmp_path / "missing", "no such folder"), (tmp_path / "clip.wav", "is a file"),
                           ("someone/not-cached", "not in the local cache"),
                           (tmp_path / "emotion2vec-s", "is an Emotion2Vec-S model; evaluate needs a C2SER model or "
                                                        "an audio-classification model")):
        assert main(["evaluate", "--model", str(value), "--dataset", str(tmp_path / "no-dataset")]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert message in line and str(value) in line, line


def test_label_map_excludes_and_renames(root, tmp_path):
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"fear": None, "happiness": "happiness"}))
    results = evaluate_model(root / "tiny", root / "emo-emilia", tmp_path / "out", configs="zh", label_map=label_map,
                             batch_size=8, progress=False)
    [entry] = results["results"]
    assert entry["clips"] == 6 and entry["excluded"] == {"fear": 1}
    assert entry["metrics"]["per_class"]["fear"]["support"] == 0
    assert load_metric().compute(predictions=["anger"], references=["anger"])["wa"] == 1.0


def test_each_clips_answer_language_and_automatic_batch_size(root, tmp_path):
    """`answer_language="dataset"` scores each clip in its `language` column's answers: on the Chinese config, what
    "zh" gives, and not what "en" gives."""
    def probabilities(language):
        path = tmp_path / language / "tiny" / "emo-emilia-zh-test" / "predictions.jsonl"
        return {r["id"]: r["probabilities"] for r in map(json.loads, lines(path))}

    for language in ("zh", "en", "dataset"):
        results = evaluate_model(root / "tiny", root / "emo-emilia", tmp_path / language, configs="zh",
                                 batch_size="auto", answer_language=language, progress=False)
        assert results["settings"]["answer_language"] == language and results["results"][0]["clips"] == 7
    own, english = probabilities("dataset"), probabilities("en")
    assert own == probabilities("zh") and all(own[i] != english[i] for i in own)


def test_any_labelled_dataset_and_a_clip_that_cannot_be_decoded(root, tmp_path, capsys):
    """A plain dataset (string labels in another column, no id or duration column, 44.1 kHz stereo) with one broken
    clip: the broken one is reported on its row and the others are scored."""
    from audio_fixtures import tone

    tone(tmp_path / "a.wav", seconds=0.5, rate=44100, channels=2)
    clip = {"bytes": (tmp_path / "a.wav").read_bytes(), "path": None}
    rows = {"audio": [clip, {"bytes": b"not audio at all", "path": None}, clip],
            "mood": ["Angry", "sad", "happy"]}
    datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio()).save_to_disk(str(tmp_path / "plain"))
    assert main(["evaluate", "--model", str(root / "tiny"), "--dataset", str(tmp_path / "plain"), "--label-column",
                 "mood", "--out", str(tmp_path / "out")]) == 1  # some clip failed
    output = capsys.readouterr()
    assert "plain/test: row 1 (id '1'): could not be decoded as audio" in output.err
    assert "tiny (scores) · plain/test: UA" in output.out and "(2 clips, 1 failed)" in output.out
    records = {r["id"]: r for r in map(json.loads, lines(tmp_path / "out" / "tiny" / "plain-test" / "predictions.jsonl"))}
    assert set(records) == {"0", "1", "2"} and "error" in records["1"] and records["0"]["reference"] == "anger"
    assert records["0"]["probabilities"] == records["2"]["probabilities"]  # the same clip, resampled from 44.1 kHz


def test_overwrite_discards_only_its_own_files_and_out_never_overlaps_a_dataset(root, tmp_path):
    out = tmp_path / "eval"
    args = ["evaluate", "--model", str(root / "tiny"), "--dataset", str(root / "emo-emilia"), "--batch-size", "7"]
    assert main([*args, "--out", str(out)]) == 0
    folder = out / "tiny" / "emo-emilia-all-test"
    (folder / "my-notes.txt").write_text("mine")
    assert main([*args, "--out", str(out), "--overwrite"]) == 0
    assert (folder / "my-notes.txt").read_text() == "mine" and len(lines(folder / "predictions.jsonl")) == 14
    before = sorted(p.relative_to(root) for p in (root / "emo-emilia").rglob("*"))
    assert main([*args, "--out", str(root / "emo-emilia" / "results")]) == 2
    assert sorted(p.relative_to(root) for p in (root / "emo-emilia").rglob("*")) == before
