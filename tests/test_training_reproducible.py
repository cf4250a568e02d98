"""A seed makes a run: `c2ser-hf train` from a `c2ser-hf new` model (merged save) and from a light model, and
`c2ser-hf pretrain-emotion2vec` from a new model, each run twice with one seed, the second SIGKILLed after a checkpoint
and run again: the per-step losses and gradient norms and every saved tensor equal the uninterrupted run's, bit for
bit. The killed run drew its own starting weights, so this checks both that two runs of one command are the same run
and that a resumed run continues it exactly."""

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from c2ser_hf.emotion2vec_training import RECIPES
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.training import C2SERModelArguments, C2SERTrainingConfig, load_starting_point, parse_recipe
from c2ser_hf.training.run import train_c2ser

from cli_runner import cli_command, run_cli
from emotion_clips import write_emotion_clips
from killed_runs import kill_once_written

STEPS = 4
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
CPU = ["--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--gradient_checkpointing", "false",
       "--disable_tqdm", "true"]
TINY_EMOTION2VEC = dict(
    hidden_size=32, num_hidden_layers=2, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
    conv_dim=[16] * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
    num_extra_tokens=3, decoder_dim=16, decoder_layers=2, decoder_groups=4, num_mask_copies=2, average_top_k_layers=1,
)


def train_arguments(out, start: list[str], cot_dataset) -> list:
    return ["train", "--config", "stage2_implicit", "--dataset_name", cot_dataset, "--output_dir", out, *start, *CPU,
            "--max_steps", STEPS, "--save_steps", 2, "--logging_steps", 1, "--per_device_train_batch_size", 2,
            "--dataloader_num_workers", 0]


def per_step(state_file: Path, keys) -> list[dict]:
    history = json.loads(state_file.read_text())["log_history"]
    return [{k: entry[k] for k in keys} for entry in history if "loss" in entry]


def saved_tensors(folder: Path) -> dict:
    return {f"{file.name}:{key}": tensor for file in sorted(folder.glob("*.safetensors"))
            for key, tensor in load_file(file).items()}


def run_whole_and_killed(arguments, whole: Path, killed: Path, checkpoint: str):
    """`c2ser-hf ARGUMENTS(folder)` run into `whole`, then into `killed` until `checkpoint` is complete, SIGKILLed,
    and run again there."""
    done = run_cli(*arguments(whole), env=ENV, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    kill_once_written(cli_command(*arguments(killed)), ENV, killed / checkpoint / "trainer_state.json")
    assert not (killed / f"checkpoint-{STEPS}").exists()
    rerun = run_cli(*arguments(killed), env=ENV, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]


def assert_same_run(whole: Path, killed: Path, model_folder: Path, keys):
    expected = per_step(whole / f"checkpoint-{STEPS}" / "trainer_state.json", keys)
    resumed = per_step(killed / f"checkpoint-{STEPS}" / "trainer_state.json", keys)
    assert [e["step"] for e in expected] == list(range(1, STEPS + 1))
    assert resumed == expected  # floats compared exactly
    a, b = saved_tensors(whole / model_folder), saved_tensors(killed / model_folder)
    assert a and a.keys() == b.keys()
    differing = [name for name in a if not torch.equal(a[name], b[name])]
    assert not differing, differing[:5]
    print(f"{len(a)} saved tensors identical; losses {[round(e['loss'], 5) for e in expected]} identical")


def test_the_new_adapter_of_a_merged_start_is_drawn_from_the_run_seed(tmp_path):
    write_random_c2ser(tmp_path / "new", "tiny")
    model_args = C2SERModelArguments(model_name_or_path=str(tmp_path / "new"))

    def lora_a(seed):
        args = C2SERTrainingConfig(output_dir=str(tmp_path / "out"), seed=seed, use_cpu=True, report_to="none")
        torch.rand(seed)  # whatever the caller drew before does not matter
        model = load_starting_point(model_args, args).model
        return torch.cat([p.detach().flatten() for n, p in model.named_parameters() if ".lora_A." in n])

    assert torch.equal(lora_a(1), lora_a(1)) and not torch.equal(lora_a(1), lora_a(2))


@pytest.fixture(scope="module")
def light_model(tmp_path_factory, training_parts, cot_dataset):
    """A light C2SER (trained parts + LoRA adapter + base id), as stage 1 or the converted release gives one."""
    out = tmp_path_factory.mktemp("light")
    args = ["--config", "stage2_implicit", "--dataset_name", cot_dataset, "--output_dir", str(out),
            *[x for name, path in training_parts.items() for x in (f"--{name}", path)], *CPU,
            "--max_steps", "1", "--save_strategy", "no", "--per_device_train_batch_size", "2",
            "--dataloader_num_workers", "0", "--report_to", "none"]
    return train_c2ser(*parse_recipe(args))


@pytest.mark.parametrize("start", ["new", "light"])
def test_train_twice_and_killed_then_resumed_is_one_run(start, tmp_path, cot_dataset, light_model):
    if start == "new":
        write_random_c2ser(tmp_path / "new", "tiny", seed=5)
        options = ["--model_name_or_path", str(tmp_path / "new"), "--save_format", "merged"]
    else:
        options = ["--model_name_or_path", light_model]

    run_whole_and_killed(lambda out: train_arguments(out, options, cot_dataset), tmp_path / "whole",
                         tmp_path / "killed", "checkpoint-2")
    assert_same_run(tmp_path / "whole", tmp_path / "killed", Path("model"), ("step", "loss", "grad_norm"))


@pytest.fixture(scope="module")
def emotion_clips(tmp_path_factory):
    return write_emotion_clips(tmp_path_factory.mktemp("clips"))


def pretrain_arguments(out, clips, **fields) -> list:
    values = {"model": None, "model_config": TINY_EMOTION2VEC, "datasets": [{"path": str(clips)}],
              "output_dir": str(out), "max_steps": STEPS, "per_device_train_batch_size": 2,
              "gradient_accumulation_steps": 1, "save_steps": 2, "logging_steps": 1, "dataloader_num_workers": 0,
              "use_cpu": True, "disable_tqdm": True, **fields}
    return ["pretrain-emotion2vec", "--config", f"{RECIPES}/emotion2vec_s.yaml",
            *[x for name, value in values.items() for x in ("--set", f"{name}={json.dumps(value)}")]]


def test_pretrain_twice_and_killed_then_resumed_is_one_run(tmp_path, emotion_clips):
    run_whole_and_killed(lambda out: pretrain_arguments(out, emotion_clips), tmp_path / "whole", tmp_path / "killed",
                         "checkpoint-2")
    assert_same_run(tmp_path / "whole", tmp_path / "killed", Path("."),
                    ("step", "loss", "grad_norm", "frame_loss", "utterance_loss", "category_loss"))
