"""`c2ser-hf train` killed with SIGKILL and run again resumes from its last complete checkpoint, bit for bit: the same
per-step losses, gradient norms and explicit/implicit choices, and the same trained model, as an uninterrupted run."""

import json
import os
import signal
import subprocess
import time

import torch
from safetensors.torch import load_file
from cli_runner import cli_command

STEPS = 8


def command(out, cot_dataset, parts):
    return [*cli_command("train"), "--config", "stage2_implicit", "--dataset_name", cot_dataset,
            "--output_dir", str(out), *[x for name, path in parts.items() for x in (f"--{name}", path)],
            "--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--gradient_checkpointing", "false",
            "--max_steps", str(STEPS), "--save_steps", "2", "--save_total_limit", "10", "--logging_steps", "1",
            "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "2",
            "--dataloader_num_workers", "2"]


def per_step(out):
    history = json.loads((out / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())["log_history"]
    keys = ("step", "loss", "grad_norm", "cot/explicit_probability", "cot/explicit_fraction")
    return [{k: entry[k] for k in keys} for entry in history if "loss" in entry]


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path, cot_dataset, training_parts):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.Popen(command(tmp_path / "whole", cot_dataset, training_parts), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = subprocess.Popen(command(tmp_path / "killed", cot_dataset, training_parts), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not (tmp_path / "killed" / "checkpoint-2" / "trainer_state.json").is_file():
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before its second step"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)  # the trainer and its dataloader workers
    killed.wait()
    assert not (tmp_path / "killed" / f"checkpoint-{STEPS}").exists() and not (tmp_path / "killed" / "model").exists()

    rerun = subprocess.run(command(tmp_path / "killed", cot_dataset, training_parts), env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming from" in rerun.stdout and "checkpoint-" in rerun.stdout
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-3000:]

    expected, resumed = per_step(tmp_path / "whole"), per_step(tmp_path / "killed")
    assert [e["step"] for e in expected] == list(range(1, STEPS + 1))
    assert resumed == expected  # floats compared exactly
    assert {e["cot/explicit_fraction"] for e in expected} > {1.0}  # both kinds were drawn
    for name in ("adapter_model.safetensors", "model.safetensors"):
        a, b = (load_file(tmp_path / run / "model" / name) for run in ("whole", "killed"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    resumed_from = next(line for line in rerun.stdout.splitlines() if line.startswith("resuming from"))
    print(f"{resumed_from} after SIGKILL: {STEPS} steps, losses {[round(e['loss'], 4) for e in expected]} identical")
