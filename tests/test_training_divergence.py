"""Training that diverges says so: the first step whose loss or gradient norm is not finite ends `c2ser-hf train` and
`c2ser-hf pretrain-emotion2vec` with one line naming the step and the last good checkpoint, exit 2 and no model
written; `on_nonfinite=skip` drops such steps, counts them and finishes. The shipped Emotion2Vec-S recipe trains a new
tiny model on espeak-ng clips (a quarter digital silence) with finite losses, and without its dither diverges at
step 1. A model with non-finite weights is refused where the probe loads its encoder, and skipped steps are counted
on across a resume."""

import json
import math
import os

import numpy as np
import pytest
import torch
from datasets import Dataset
from safetensors.torch import load_file
from transformers import TrainingArguments

from c2ser_hf.divergence_guard import SKIPPED_KEY
from c2ser_hf.emotion2vec_training import RECIPES, Emotion2VecPretrainer, PretrainingCollator
from c2ser_hf.model_loading import load_audio_encoder
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForPreTraining, Emotion2VecSModel
from c2ser_hf.new_model import write_random_c2ser, write_random_emotion2vec_s
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from cli_runner import run_cli
from emotion_clips import write_emotion_clips

TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
    conv_dim=[16] * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
    num_extra_tokens=3, decoder_dim=16, decoder_layers=2, decoder_groups=4, num_mask_copies=2, average_top_k_layers=1,
)


def run(*args):
    return run_cli(*args, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)


def error_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines, done.stderr[-3000:]
    assert lines[-1].startswith("c2ser-hf ") and "Traceback" not in done.stderr, done.stderr[-3000:]
    return lines[-1]


def logged(state_file) -> list[dict]:
    return [entry for entry in json.loads(state_file.read_text())["log_history"] if "loss" in entry]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_emotion_clips(tmp_path_factory.mktemp("clips"))


def pretrain(out, clips, **fields):
    values = {"datasets": [{"path": str(clips)}], "output_dir": str(out), "logging_steps": 1,
              "dataloader_num_workers": 0, "use_cpu": True, "disable_tqdm": True, **fields}
    return run("pretrain-emotion2vec", "--config", f"{RECIPES}/emotion2vec_s.yaml",
               *[x for name, value in values.items() for x in ("--set", f"{name}={json.dumps(value)}")])


def test_shipped_recipe_trains_a_new_model_on_silent_clips_and_without_dither_diverges(tmp_path, clips):
    write_random_emotion2vec_s(tmp_path / "start", "tiny")  # as `c2ser-hf new emotion2vec` writes it
    without = pretrain(tmp_path / "undithered", clips, model=str(tmp_path / "start"), max_steps=20, dither=0)
    line = error_line(without)
    print(line)
    assert "training diverged at step 1 " in line and "no checkpoint was saved" in line
    assert not (tmp_path / "undithered" / "model.safetensors").exists()

    done = pretrain(tmp_path / "out", clips, model=str(tmp_path / "start"), max_steps=20, save_steps=20)
    assert done.returncode == 0, done.stderr[-3000:]
    entries = logged(tmp_path / "out" / "checkpoint-20" / "trainer_state.json")
    names = ("loss", "grad_norm", "frame_loss", "utterance_loss", "category_loss")
    assert [e["step"] for e in entries] == list(range(1, 21))
    assert all(math.isfinite(e[name]) for e in entries for name in names)
    tensors = load_file(tmp_path / "out" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    print(f"20 steps: grad norms {min(e['grad_norm'] for e in entries):.0f}-{max(e['grad_norm'] for e in entries):.0f}"
          f", {len(tensors)} saved tensors finite")


def test_a_pretraining_run_forced_to_diverge_stops_or_skips(tmp_path, clips):
    forced = dict(model=None, model_config=TINY, learning_rate=1.0e6, warmup_steps=0, max_steps=4, save_steps=1,
                  per_device_train_batch_size=4, gradient_accumulation_steps=1)
    stopped = pretrain(tmp_path / "stop", clips, **forced)
    line = error_line(stopped)
    print(line)
    assert "training diverged at step " in line and "checkpoint-" in line and "no model was saved" in line
    step = int(line.split("training diverged at step ")[1].split()[0])
    assert step > 1 and f"the last good checkpoint is {tmp_path / 'stop' / f'checkpoint-{step - 1}'}" in line
    assert not (tmp_path / "stop" / "model.safetensors").exists()
    assert not (tmp_path / "stop" / f"checkpoint-{step}").exists()

    skipped = pretrain(tmp_path / "skip", clips, **forced, on_nonfinite="skip")
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    entries = logged(tmp_path / "skip" / "checkpoint-4" / "trainer_state.json")
    count = entries[-1]["train/skipped_nonfinite_steps"]
    assert count >= 1 and f"{count} of 4 optimizer steps were skipped" in skipped.stderr
    tensors = load_file(tmp_path / "skip" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_a_c2ser_run_forced_to_diverge_stops_or_skips(tmp_path, cot_dataset):
    write_random_c2ser(tmp_path / "new", "tiny")

    def train(out, *extra):
        return run("train", "--config", "stage2_implicit", "--dataset_name", cot_dataset,
                   "--model_name_or_path", tmp_path / "new", "--save_format", "merged", "--output_dir", out,
                   "--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--gradient_checkpointing", "false",
                   "--disable_tqdm", "true", "--learning_rate", "1e6", "--warmup_steps", "0", "--max_steps", "4",
                   "--save_steps", "1", "--logging_steps", "1", "--per_device_train_batch_size", "2",
                   "--dataloader_num_workers", "0", *extra)

    line = error_line(train(tmp_path / "stop"))
    print(line)
    assert "training diverged at step " in line and "no model was saved" in line
    assert not (tmp_path / "stop" / "model").exists()

    skipped = train(tmp_path / "skip", "--on_nonfinite", "skip")
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    count = logged(tmp_path / "skip" / "checkpoint-4" / "trainer_state.json")[-1]["train/skipped_nonfinite_steps"]
    assert count >= 1 and f"{count} of 4 optimizer steps were skipped" in skipped.stderr
    tensors = load_file(tmp_path / "skip" / "model" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_an_encoder_with_nonfinite_weights_is_refused_in_one_line(tmp_path):
    torch.manual_seed(0)
    model = Emotion2VecSModel(Emotion2VecSConfig(**{k: v for k, v in TINY.items() if not k.startswith("decoder")}))
    with torch.no_grad():
        model.encoder.layers[0].feed_forward.output_dense.weight[0, 0] = float("nan")
    model.save_pretrained(tmp_path / "diverged")
    Emotion2VecSFeatureExtractor().save_pretrained(tmp_path / "diverged")
    with pytest.raises(ValueError) as error:
        load_audio_encoder(tmp_path / "diverged")
    print(error.value)
    assert str(error.value).startswith(f"{tmp_path / 'diverged'}: 1 of ") and "NaN or infinite" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_skipped_steps_count_on_across_a_resume(tmp_path):
    rng = np.random.default_rng(0)
    rows = Dataset.from_list([{"audio": {"array": rng.normal(0, 0.1, 4000).astype(np.float32), "sampling_rate": 16000},
                               "labels": -100} for _ in range(4)])

    def trainer(max_steps):
        torch.manual_seed(0)
        args = TrainingArguments(tmp_path, max_steps=max_steps, per_device_train_batch_size=4, learning_rate=1e6,
                                 use_cpu=True, report_to="none", save_steps=2, remove_unused_columns=False,
                                 logging_steps=1, disable_tqdm=True)
        return Emotion2VecPretrainer(model=Emotion2VecSForPreTraining(Emotion2VecSConfig(**TINY)), args=args,
                                     train_dataset=rows, on_nonfinite="skip",
                                     data_collator=PretrainingCollator(Emotion2VecSFeatureExtractor()))

    first = trainer(4)
    first.train()
    skipped = list(first.skipped_steps.steps)
    assert skipped and skipped[-1] == 4
    resumed = trainer(6)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-4"))
    assert resumed.skipped_steps.steps == skipped + [5, 6]
    assert resumed.state.log_history[-2][SKIPPED_KEY] == len(skipped) + 2
