"""Stability evaluation (`evaluate --stability`): the metrics against hand computations, every output of a 42-clip
run under every default variant, resume after SIGKILL and 2 processes = 1 through the CLI, and a model whose audio
towers output zeros (its answers cannot move with the recording conditions, only with the prompt)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch

from c2ser_hf.evaluation.stability import evaluate_stability
from c2ser_hf.evaluation.stability.metrics import fleiss_kappa, js_divergence, summarise
from c2ser_hf.evaluation.stability.variants import CONDITIONS, apply_condition, load_paraphrases, variants_for
from c2ser_hf.model_card import model_card
from c2ser_hf.processing import EMOTIONS

from corpus_trees import emo_emilia
from killed_runs import append_partial_record, kill_after_records
from cli_runner import cli_command
from one_thread import one_thread


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The tiny model, a prepared Emo-Emilia of 42 clips (3 per emotion and language) and one of 14, and two
    paraphrases per language (3 variants with the clean one: cheap runs for the CLI tests)."""
    from c2ser_hf.new_model import write_random_c2ser
    from c2ser_hf.prepare_data import prepare_data

    root = tmp_path_factory.mktemp("stability")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", root / "datasets-cache")
        patch.setenv("HF_DATASETS_CACHE", str(root / "datasets-cache"))
        write_random_c2ser(root / "tiny")
        prepare_data("emo-emilia", emo_emilia(root / "source-42", per_label=3), root / "emo-emilia-42")
        prepare_data("emo-emilia", emo_emilia(root / "source-14"), root / "emo-emilia")
        two = {mode: {"en": [f"Which emotion does this speech carry? ({mode} {k})" for k in (1, 2)],
                      "zh": [f"这段语音的情感是什么？（{k}）" for k in (1, 2)]} for mode in ("implicit", "explicit")}
        (root / "two-prompts.json").write_text(json.dumps({"replace": True, **two}), encoding="utf-8")
        yield root


def one_hot(emotion: str) -> dict:
    return {e: float(e == emotion) for e in EMOTIONS}


def record(reference, prediction, probabilities=None) -> dict:
    return {"reference": reference, "prediction": prediction, "probabilities": probabilities}


def test_fleiss_kappa_and_jensen_shannon_equal_hand_computations():
    # items (a, a, b), (a, a, a), (b, b, none): P̄ = (1/3 + 1 + 1/3) / 3 = 5/9, shares 5/9, 3/9, 1/9 -> P_e = 35/81
    kappa = fleiss_kappa([["anger", "anger", "fear"], ["anger"] * 3, ["fear", "fear", None]])
    print(f"kappa {kappa!r} vs 5/23: diff {abs(kappa - 5 / 23):.2e}")
    assert abs(kappa - 5 / 23) < 1e-12
    assert fleiss_kappa([[None, None], [None, None]]) is None  # every rating "none": κ is 0/0
    with pytest.raises(ValueError, match="as many"):
        fleiss_kappa([["anger", "fear"], ["anger"]])

    half = {**one_hot("anger"), "anger": 0.5, "happiness": 0.5}
    # M = (0.75, 0.25): JS = (KL(half‖M) + KL(one-hot‖M)) / 2, base 2
    hand = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25) + math.log2(1 / 0.75))
    print(f"JS {js_divergence(half, one_hot('anger'))!r} vs {hand!r}")
    assert abs(js_divergence(half, one_hot("anger")) - hand) < 1e-12
    assert abs(js_divergence(one_hot("anger"), one_hot("fear")) - 1.0) < 1e-12
    assert js_divergence(half, half) == 0.0


def test_flip_rate_kappa_and_divergence_of_families_equal_hand_computations():
    half = {**one_hot("anger"), "anger": 0.5, "happiness": 0.5}
    table = {
        "c1": {"clean": record("anger", "anger", one_hot("anger")), "v1": record("anger", "anger", half),
               "v2": record("anger", "sadness", one_hot("sadness")), "s1": record("anger", None)},
        # every variant of this clip is unparseable: no flip can be counted, all raters agree on "none"
        "c2": {name: record("fear", None) for name in ("clean", "v1", "v2", "s1")},
        "c3": {"clean": {"reference": "fear", "error": "cannot be decoded"}},
    }
    family = summarise(table, ["v1", "v2"])
    # pairs c1v1 c1v2 c2v1 c2v2; flips counted on c1 only (1 of 2); κ over (anger, anger, sadness), (none × 3):
    # P̄ = (1/3 + 1) / 2 = 2/3, shares 2/6, 1/6, 3/6 -> P_e = 14/36, κ = (2/3 - 7/18) / (11/18) = 5/11
    js_half = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25) + math.log2(1 / 0.75))
    expected = {"flip_rate": 0.5, "kappa": 5 / 11, "js_divergence": (js_half + 1.0) / 2, "accuracy": 0.25,
                "unparseable_rate": 0.5, "pairs": 4, "compared": 2, "clips": 2}
    print("family", family)
    assert family.keys() == expected.keys()
    assert all(abs(family[k] - v) < 1e-12 for k, v in expected.items())
    # a single-variant family: c1 loses its emotion (a flip); κ over (anger, none), (none, none): P̄ = 1/2,
    # P_e = 1/16 + 9/16, κ = (1/2 - 5/8) / (3/8) = -1/3; no probabilities, no divergence
    single = summarise(table, ["s1"])
    print("single", single)
    assert single["flip_rate"] == 1.0 and abs(single["kappa"] + 1 / 3) < 1e-12 and single["js_divergence"] is None
    assert single["accuracy"] == 0.0 and single["unparseable_rate"] == 1.0 and single["pairs"] == 2
    alone = summarise(table, ["v1", "v2"], ["c2"])
    assert alone["flip_rate"] is None and alone["kappa"] is None and alone["unparseable_rate"] == 1.0


def test_variants_are_seeded_by_clip_and_variant_and_paraphrases_load(root, tmp_path):
    waveform = torch.randn(7200, generator=torch.Generator().manual_seed(0)).numpy() * 0.1
    noise = next(v for v in variants_for(["conditions"], "scores", {}, 1) if v.name == "noise-snr10")
    first, again = (apply_condition(noise, "clip-a", waveform, 24000) for _ in range(2))
    assert (first == again).all() and not (first == apply_condition(noise, "clip-b", waveform, 24000)).all()
    for variant in variants_for(["conditions"], "scores", {}, 1)[1:]:
        heard = apply_condition(variant, "clip-a", waveform, 24000)
        assert len(heard) == (6840 if variant.name.startswith("trim") else 7200), variant.name
    shipped = load_paraphrases()
    assert all(len(prompts) >= 8 for languages in shipped.values() for prompts in languages.values())
    extended = tmp_path / "more.json"
    extended.write_text(json.dumps({"implicit": {"en": ["one more"], "zh": ["再一个"]}}), encoding="utf-8")
    assert load_paraphrases(extended)["implicit"]["en"][-1] == "one more"
    names = [v.name for v in variants_for(["prompts", "conditions", "decoding"], "implicit", shipped, 3)]
    assert names[0] == "clean" and len(names) == 1 + 8 + len(CONDITIONS) + 3
    assert "sample-1" not in [v.name for v in variants_for(["decoding"], "scores", shipped, 3)]
    uneven = tmp_path / "uneven.json"
    uneven.write_text(json.dumps({"implicit": {"en": ["only english"]}}), encoding="utf-8")
    with pytest.raises(ValueError, match="as many"):
        load_paraphrases(uneven)


def test_every_default_variant_of_42_clips_writes_every_output(root):
    section = evaluate_stability(root / "tiny", root / "emo-emilia-42", root / "full", batch_size=8,
                                 answer_language="dataset", progress=False)
    [entry] = section["results"]
    assert entry["clips"] == 42 and entry["failed"] == 0 and entry["scored_now"] == 42 * (1 + len(CONDITIONS))
    assert list(entry["families"]) == ["conditions"] and entry["families"]["conditions"] == list(CONDITIONS)
    metrics = entry["stability"]
    assert set(metrics["by_variant"]) == set(CONDITIONS) and metrics["overall"]["pairs"] == 42 * len(CONDITIONS)
    assert 0 <= metrics["overall"]["flip_rate"] <= 1 and metrics["overall"]["js_divergence"] > 0
    out = root / "full"
    assert json.loads((out / "results.json").read_text())["stability"] == section
    folder = out / "tiny" / "emo-emilia-42-all-test-stability-scores"
    lines = (folder / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["id"] for line in lines}) == 42 * 10
    assert (folder / "stability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "stability.md").read_text()
    flip = metrics["overall"]["flip_rate"]
    assert f"| tiny (scores) | {100 * metrics['clean']['accuracy']:.2f} |" in table and f"{100 * flip:.2f}" in table
    card = out / "card"
    card.mkdir()
    (card / "eval_results.json").write_text((out / "tiny" / "eval_results.json").read_text())
    assert "emo-emilia-42/all/test (scores, stability)" in model_card(card, "someone/tiny")


def test_audio_towers_that_output_zeros_never_move_with_the_recording_conditions(root):
    from c2ser_hf.model_loading import load_c2ser

    model, processor = load_c2ser(str(root / "tiny"))

    def zeros(module, inputs, output):
        for name in ("last_hidden_state", "utterance_features"):
            if getattr(output, name, None) is not None:
                setattr(output, name, torch.zeros_like(getattr(output, name)))
        return output

    model.model.audio_tower.register_forward_hook(zeros)
    model.model.acoustic_tower.register_forward_hook(zeros)
    section = evaluate_stability((model, processor), f"{root / 'emo-emilia'}:zh", root / "deaf",
                                 families=["prompts", "conditions"], paraphrases=root / "two-prompts.json",
                                 answer_language="zh", progress=False)
    metrics = section["results"][0]["stability"]
    for condition in CONDITIONS:
        values = metrics["by_variant"][condition]
        print(condition, values["flip_rate"], values["js_divergence"])
        assert values["flip_rate"] == 0.0 and values["js_divergence"] == 0.0, condition
    prompts = metrics["by_family"]["prompts"]
    print("prompts", prompts["js_divergence"])
    assert prompts["js_divergence"] > 1e-9


def cli(root: Path, out: str) -> list[str]:
    return ["evaluate", "--model", str(root / "tiny"), "--dataset",
            f"{root / 'emo-emilia'}:zh", "--stability", "prompts", "--paraphrases", str(root / "two-prompts.json"),
            "--answer-language", "zh", "--batch-size", "2", "--out", str(root / out)]


def environment(root: Path) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(root / "datasets-cache"),
            "HF_HUB_OFFLINE": "1"}


FOLDER = "tiny/emo-emilia-zh-test-stability-scores"


@pytest.fixture(scope="module")
def one_process(root):
    """The CLI in this process, on one thread as each torchrun rank has, so that runs compare bit for bit."""
    from c2ser_hf.cli import main

    with one_thread(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", root / "datasets-cache")
        assert main(cli(root, "one")) == 0
    return json.loads((root / "one" / "results.json").read_text())["stability"]


def test_sigkill_then_rerun_gives_the_same_results_scoring_no_pair_twice(root, one_process):
    predictions = root / "killed" / FOLDER / "predictions.jsonl"
    kill_after_records(cli_command(*cli(root, "killed")), environment(root), predictions, count=6)
    before = predictions.read_text().splitlines()
    assert 6 <= len(before) < 21, f"{len(before)} of 21 (clip, variant) pairs were done when the run was killed"
    append_partial_record(predictions, b'{"id": "half')
    result = subprocess.run(cli_command(*cli(root, "killed")), env=environment(root), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    after = predictions.read_text().splitlines()
    assert after[:len(before)] == before and len(after) == len({json.loads(line)["id"] for line in after}) == 21
    resumed = json.loads((root / "killed" / "results.json").read_text())["stability"]["results"][0]
    assert resumed["scored_now"] == 21 - len(before)
    assert resumed["stability"] == one_process["results"][0]["stability"]
    assert sorted(after) == sorted((root / "one" / FOLDER / "predictions.jsonl").read_text().splitlines())


def test_two_processes_equal_one(root, one_process):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", *cli_command(*cli(root, "two"))]
    result = subprocess.run(command, env=environment(root), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    two = json.loads((root / "two" / "results.json").read_text())["stability"]
    assert two["settings"]["processes"] == 2
    assert two["results"][0]["stability"] == one_process["results"][0]["stability"]
    assert sorted((root / "two" / FOLDER / "predictions.jsonl").read_text().splitlines()) == sorted(
        (root / "one" / FOLDER / "predictions.jsonl").read_text().splitlines())
    assert not list((root / "two" / Path(FOLDER)).glob("*.rank*"))
