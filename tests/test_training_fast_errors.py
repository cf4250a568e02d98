"""Issue 25 item 6 in a fresh process: each early refusal of `train`, `pretrain-emotion2vec` and `probe` is one line,
exit 2, in well under 5 s, because it comes before torch, transformers, TRL or datasets are imported (shown by
Python's own import log, PYTHONPROFILEIMPORTTIME, and by the child's CPU seconds). The field table the pre-check
reads is kept equal to what the dataclasses declare, and the shipped recipes pass it."""

import os
import resource
from pathlib import Path

import pytest
from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES

from c2ser_hf import recipe_fields
from c2ser_hf.dataset_source import PACKAGED_BUILDERS
from c2ser_hf.emotion2vec_training import RECIPES
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.recipe_precheck import precheck_pretraining, precheck_train, recipe_fields_source
from c2ser_hf.training.recipes import RECIPES as TRAIN_RECIPES
from tests.helpers.cli_runner import run_cli

HEAVY = ("torch", "transformers", "trl", "datasets", "accelerate", "peft")
PRETRAIN = ["pretrain-emotion2vec", "--config", f"{RECIPES}/emotion2vec_s.yaml"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast_errors")
    write_random_c2ser(root / "new_c2ser")  # a `c2ser-hf new` model: no base model id
    (root / "data").mkdir()
    (root / "broken.yaml").write_text("learning_rate: 1.0e-4\nlora_target_modules: [q_proj\n")
    (root / "zero_steps.yaml").write_text("max_steps: 0\n")
    (root / "unknown.yaml").write_text("max_stepz: 4\n")
    return root


def refused_fresh(*argv, cwd, message):
    """`c2ser-hf ARGV` in a fresh process: exit 2, one line holding `message`, no heavy module imported, < 2 s CPU."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPROFILEIMPORTTIME": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_cli(*argv, cwd=cwd, env=env, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = result.stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    said = [line for line in lines if not line.startswith("import time:")] + result.stdout.splitlines()
    print(f"{cpu:.2f} s CPU, {result.seconds:.2f} s wall, {len(imported)} modules: {said}")
    assert result.returncode == 2, (result.returncode, said)
    assert len(said) == 1 and message in said[0], said
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert cpu < 2, cpu


def test_train_refuses_before_heavy_imports(folders):
    start = ["train", "--config", "stage2_implicit", "--output_dir", "run"]
    merged = [*start, "--model_name_or_path", folders / "new_c2ser", "--save_format", "merged"]
    data = ["--dataset_name", folders / "data"]
    refused_fresh(*merged, "--dataset_name", "corpora/missing", cwd=folders,
                  message="dataset corpora/missing: no such local folder")
    refused_fresh(*merged, "--dataset_name", "./corpora/missing", cwd=folders,
                  message="dataset ./corpora/missing: no such folder")
    refused_fresh(*merged, *data, "--max_steps", "four", cwd=folders, message="invalid int value: 'four'")
    refused_fresh(*merged, *data, "--max_steps=0", cwd=folders, message="max_steps 0")
    refused_fresh(*merged, *data, "--bf16", "maybe", cwd=folders, message="invalid bool value: 'maybe'")
    refused_fresh(*start, "--model_name_or_path", folders / "new_c2ser", *data, cwd=folders,
                  message="use save_format merged")
    refused_fresh("train", "--config", "broken.yaml", cwd=folders, message="broken.yaml: not valid YAML")
    refused_fresh("train", "--config", "zero_steps.yaml", *data, cwd=folders, message="max_steps 0")
    refused_fresh("train", "--config", "unknown.yaml", cwd=folders, message="unknown.yaml: no such field max_stepz")


def test_pretrain_and_probe_refuse_before_heavy_imports(folders):
    refused_fresh(*PRETRAIN, "--set", "max_steps=four", cwd=folders, message="max_steps must be int, got 'four'")
    refused_fresh(*PRETRAIN, "--set", "x=[unclosed", cwd=folders, message="the value is not valid YAML")
    refused_fresh(*PRETRAIN, "--set", "max_steps=0", cwd=folders, message="max_steps 0")
    refused_fresh(*PRETRAIN, "--set", "max_stepz=4", cwd=folders, message="no such field max_stepz")
    refused_fresh(*PRETRAIN, "--set", 'datasets=[{"path": "corpora/missing"}]', cwd=folders,
                  message="dataset corpora/missing: no such local folder")
    refused_fresh("probe", "--model", "m", "--dataset", "corpora/missing", "--out", "results", cwd=folders,
                  message="dataset corpora/missing: no such local folder")


def test_field_table_is_what_the_dataclasses_declare():
    shipped = Path(recipe_fields.__file__).read_text(encoding="utf-8")
    assert shipped == recipe_fields_source(), "regenerate it: python -m c2ser_hf.recipe_precheck"
    assert recipe_fields.TRAIN_FIELDS["max_steps"] == ("int", -1)
    assert recipe_fields.PRETRAINING_FIELDS["dither"][0] == "float"


def test_packaged_builders_are_the_installed_datasets_ones():
    assert sorted(PACKAGED_BUILDERS) == sorted(_PACKAGED_DATASETS_MODULES)


def test_shipped_recipes_pass_the_precheck(folders):
    for recipe in TRAIN_RECIPES:
        precheck_train(recipe, ["--dataset_name", str(folders / "data"), "--model_name_or_path",
                                str(folders / "new_c2ser"), "--save_format", "merged", "--max_steps", "-1"])
    precheck_pretraining(f"{RECIPES}/emotion2vec_s.yaml", [f"datasets=[{{path: {folders / 'data'}}}]"])
