"""Training on 2 processes (torchrun, gloo, CPU), one launch for all: the stage-2 schedule under DDP with dataloader
workers and gradient accumulation, DeepSpeed ZeRO-2 and ZeRO-3 from the shipped accelerate files, FSDP2 sharding;
the saved models reload, in this fresh process, to the trained models' outputs."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
from transformers import AutoModelForMultimodalLM

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.training import CoTCollator, select_variant

STEPS = 40


@pytest.fixture(scope="module")
def runs(tmp_path_factory, training_parts, cot_dataset):
    out = tmp_path_factory.mktemp("distributed")
    (out / "parts.json").write_text(json.dumps(training_parts))
    (out / "streamed" / "data").mkdir(parents=True)
    rows = datasets.load_dataset(cot_dataset, split="train")
    rows.to_parquet(str(out / "streamed" / "data" / "train-00000.parquet"), batch_size=4)  # 4 row groups
    script = Path(__file__).parent / "helpers" / "training_distributed_runs.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
         str(out), cot_dataset, str(out / "parts.json"), str(out / "streamed")], capture_output=True, text=True,
        env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]

    def read(name):
        return [json.loads((out / f"{name}-rank{rank}.json").read_text()) for rank in (0, 1)]

    return out, read


def test_schedule_choices_agree_across_ranks_and_follow_the_linear_decay(runs):
    out, read = runs
    ranks = read("schedule")
    assert ranks[0]["choices"] == ranks[1]["choices"]
    choices = ranks[0]["choices"]
    assert [(step, micro) for step, micro, _ in choices] == [(s, m) for s in range(STEPS) for m in (0, 1)]
    steps = [entry for entry in ranks[0]["log"] if "loss" in entry]
    assert [entry["step"] for entry in steps] == list(range(1, STEPS + 1))
    for entry in steps:
        step = entry["step"] - 1
        assert entry["cot/explicit_probability"] == 1 - step / (STEPS - 1)
        explicit = [e for s, _, e in choices if s == step]
        assert entry["cot/explicit_fraction"] == sum(explicit) / 2
    for quarter, expected in enumerate((0.875, 0.625, 0.375, 0.125)):
        drawn = [e for s, _, e in choices if quarter * 10 <= s < quarter * 10 + 10]
        fraction, sigma = sum(drawn) / len(drawn), math.sqrt(expected * (1 - expected) / len(drawn))
        print(f"quarter {quarter + 1}: explicit fraction {fraction:.3f} (expected {expected}, 3σ {3 * sigma:.3f})")
        assert abs(fraction - expected) <= 3 * sigma


def test_streamed_data_trains_on_both_ranks(runs):
    _, read = runs
    ranks = read("streamed")
    assert ranks[0]["choices"] == ranks[1]["choices"] and len(ranks[0]["choices"]) == 2 * 2
    assert [e["step"] for e in ranks[0]["log"] if "loss" in e] == [1, 2]


def _probe(folder, cot_dataset):
    model = AutoModelForMultimodalLM.from_pretrained(folder / "model").eval()
    from transformers import AutoProcessor

    rows = datasets.load_dataset(cot_dataset, split="train")
    batch = select_variant(CoTCollator(AutoProcessor.from_pretrained(folder / "model"))([rows[0], rows[9]]), False)
    with torch.no_grad():
        return model(**batch).logits


@pytest.mark.parametrize("name", ["schedule", "zero2", "zero3"])
def test_saved_model_reloads_to_the_trained_outputs(runs, cot_dataset, name):
    out, read = runs
    trained = [torch.load(out / f"{name}-logits-rank{rank}.pt") for rank in (0, 1)]
    assert torch.equal(trained[0], trained[1])  # both ranks hold the same model
    config = json.loads((out / name / "model" / "config.json").read_text())
    assert config["base_model_name_or_path"]  # light
    diff = (_probe(out / name, cot_dataset) - trained[0]).abs().max().item()
    print(f"{name}: reloaded (adapter merged) vs trained logits max abs diff {diff:.2e}")
    assert diff < 1e-5


def test_zero3_shards_the_parameters(runs):
    _, read = runs
    ranks = read("zero3")
    assert ranks[0]["total"] == ranks[1]["total"]
    for rank in ranks:
        print(f"ZeRO-3: a rank holds {rank['local']} of {rank['total']} parameters")
        assert abs(rank["local"] / rank["total"] - 0.5) < 0.01


def test_fsdp2_shards_the_named_units_and_trains_like_one_process(runs):
    _, read = runs
    ranks = read("fsdp2")
    assert ranks[0]["units"] > 0 and ranks[0]["moved"] > 1e-4
    for rank in ranks:
        assert abs(rank["local"] / rank["total"] - 0.5) < 0.01
    print(f"FSDP2: {ranks[0]['units']} units; sharded vs one-process training max abs diff {ranks[0]['max_diff']:.2e}")
    assert ranks[0]["max_diff"] < 1e-5
