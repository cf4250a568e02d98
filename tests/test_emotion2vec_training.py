"""Emotion2Vec-S pretraining on the Trainer: the EMA schedule, the shipped recipe through the CLI on 2 processes
(torchrun, gloo, CPU) with labelled and unlabelled corpora, exact resume, and the result as C2SER's acoustic tower."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from datasets import Dataset
from transformers import AutoModel, TrainerCallback, TrainingArguments

from c2ser_hf.emotion2vec_training import (
    RECIPES,
    EMATeacherCallback,
    Emotion2VecPretrainer,
    PretrainingCollator,
    ema_decay,
    parse_recipe,
    replace_acoustic_tower,
)
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForPreTraining
from c2ser_hf.new_model import build_random_c2ser
from c2ser_hf.output_folder import MARKER
from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from audio_fixtures import tone
from corpus_trees import esd

TINY = dict(
    hidden_size=32, num_hidden_layers=3, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
    conv_dim=(16,) * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
    num_extra_tokens=3, decoder_dim=16, decoder_layers=2, decoder_groups=4, num_mask_copies=2, average_top_k_layers=2,
)
LOSSES = ("loss", "frame_loss", "utterance_loss", "category_loss")


def test_ema_schedule_is_data2vec_linear_ramp():
    assert ema_decay(0, 0.999, 0.99999, 100) == 0.999
    assert ema_decay(50, 0.999, 0.99999, 100) == pytest.approx(0.999495)
    assert ema_decay(100, 0.999, 0.99999, 100) == ema_decay(10**6, 0.999, 0.99999, 100) == 0.99999
    assert ema_decay(3, 0.9, 1.0, 0) == 1.0


class StudentRecorder(TrainerCallback):
    def __init__(self):
        self.students = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.students.append([p.detach().clone() for p in model.emotion2vec_s.encoder.parameters()])


def test_teacher_after_k_steps_equals_the_ema_formula(tmp_path):
    torch.manual_seed(0)
    model = Emotion2VecSForPreTraining(Emotion2VecSConfig(**TINY))
    initial = [p.detach().clone() for p in model.teacher.parameters()]
    rng = np.random.default_rng(0)
    rows = [{"audio": {"array": rng.normal(0, 0.1, 4000 + 800 * i).astype(np.float32), "sampling_rate": 16000},
             "labels": [0, 1, -100][i % 3]} for i in range(8)]
    recorder = StudentRecorder()
    args = TrainingArguments(tmp_path, max_steps=4, per_device_train_batch_size=4, learning_rate=1e-3,
                             use_cpu=True, report_to="none", save_strategy="no", remove_unused_columns=False,
                             logging_steps=1, disable_tqdm=True)
    trainer = Emotion2VecPretrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows),
        data_collator=PretrainingCollator(Emotion2VecSFeatureExtractor(do_normalize=True)),
        callbacks=[recorder, EMATeacherCallback(0.9, 0.99, anneal_steps=3)],
    )
    trainer.train()
    expected = initial
    for step, student in enumerate(recorder.students, start=1):
        decay = ema_decay(step, 0.9, 0.99, 3)
        expected = [decay * t + (1 - decay) * s for t, s in zip(expected, student)]
    diff = max((e - t).abs().max().item() for e, t in zip(expected, model.teacher.parameters()))
    moved = max((e - s).abs().max().item() for e, s in zip(expected, recorder.students[-1]))
    print(f"teacher after 4 steps vs the EMA formula: max abs diff {diff:.2e} (teacher-student gap {moved:.2e})")
    assert diff <= 1e-6 and moved > 1e-4
    logged = [entry for entry in trainer.state.log_history if "frame_loss" in entry]
    assert len(logged) == 4 and logged[-1]["ema_decay"] == 0.99
    # biases, norms and the ALiBi scales are not decayed; weight matrices and the utterance tokens are
    decayed = set(trainer.get_decay_parameter_names(model))
    assert "emotion2vec_s.encoder.extra_tokens" in decayed and "decoder.proj.weight" in decayed
    assert not any(name.endswith(".bias") or "alibi_scale" in name or "layer_norm" in name for name in decayed)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """A prepared labelled corpus (ESD layout, 20 training clips of 5 emotions), unlabelled clips in an
    audiofolder, and a tiny model folder to start from."""
    root = tmp_path_factory.mktemp("corpora")
    prepare_data("esd", esd(root / "ESD", per_emotion=2), root / "esd")
    (root / "unlabelled").mkdir()
    for number in range(6):
        tone(root / "unlabelled" / f"clip{number}.wav", seconds=0.4 + 0.1 * number, freq=120 + 30 * number,
             seed=number)
    torch.manual_seed(0)
    Emotion2VecSForPreTraining(Emotion2VecSConfig(**TINY)).save_pretrained(root / "start")
    Emotion2VecSFeatureExtractor(do_normalize=True).save_pretrained(root / "start")
    return root


def launch(out: Path, corpora: Path, steps: int) -> None:
    overrides = {
        "model": str(corpora / "start"),
        "datasets": [{"path": str(corpora / "esd"), "name": "c2ser", "split": "train"},
                     {"path": "audiofolder", "data_dir": str(corpora / "unlabelled"), "label_column": None}],
        "output_dir": str(out), "max_steps": steps, "per_device_train_batch_size": 2, "save_steps": 2,
        "logging_steps": 1, "dataloader_num_workers": 0, "use_cpu": True, "disable_tqdm": True,
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "--no-python", str(Path(sys.executable).with_name("c2ser-hf")), "pretrain-emotion2vec",
               "--config", f"{RECIPES}/emotion2vec_s.yaml"]
    for name, value in overrides.items():
        command += ["--set", f"{name}={json.dumps(value)}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(corpora / "hf-cache")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # torchrun and both ranks
        raise
    assert process.returncode == 0, stderr[-3000:]


def logged_losses(folder: Path) -> dict[int, tuple]:
    state = json.loads((folder / "trainer_state.json").read_text())
    return {entry["step"]: tuple(entry[name] for name in LOSSES) for entry in state["log_history"] if "loss" in entry}


def test_two_processes_train_checkpoint_and_resume_exactly(corpora, tmp_path):
    full = tmp_path / "full"
    launch(full, corpora, steps=4)
    assert sorted(p.name for p in full.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    uninterrupted = logged_losses(full / "checkpoint-4")
    # the same run stopped after its step-2 checkpoint and restarted: its folder as it was then (the run's marker and
    # checkpoint-2, nothing written later), in a copy
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(full, resumed_dir, ignore=lambda folder, names: [
        name for name in names if Path(folder) == full and name not in ("checkpoint-2", MARKER)])
    launch(resumed_dir, corpora, steps=4)
    resumed = logged_losses(resumed_dir / "checkpoint-4")
    print("step: (loss, L_frm, L_utt, L_cate) uninterrupted | resumed")
    for step in (1, 2, 3, 4):
        print(f"{step}: {uninterrupted[step]} | {resumed[step]}")
    assert [resumed[step] for step in (3, 4)] == [uninterrupted[step] for step in (3, 4)]
    assert any(uninterrupted[step][3] > 0 for step in uninterrupted)  # labelled pairs met L_cate

    # the result loads as the encoder and becomes C2SER's acoustic tower
    model = Emotion2VecSForPreTraining.from_pretrained(full)
    gap = max((t - s).abs().max().item() for t, s in zip(model.teacher.parameters(),
                                                           model.emotion2vec_s.encoder.parameters()))
    assert gap > 0  # trained student, EMA teacher
    encoder = AutoModel.from_pretrained(full)
    c2ser, processor = build_random_c2ser("tiny")
    c2ser.config.acoustic_token_source = "mean"
    replace_acoustic_tower(c2ser, full, processor)
    tower = c2ser.model.acoustic_tower
    assert all(torch.equal(a, b) for a, b in zip(tower.state_dict().values(), encoder.state_dict().values()))
    assert not any(p.requires_grad for p in tower.parameters()) and processor.normalize_waveform is True
    c2ser.save_pretrained(tmp_path / "c2ser")
    reloaded = type(c2ser).from_pretrained(tmp_path / "c2ser")
    assert reloaded.config.acoustic_config.hidden_size == 32
    assert torch.equal(reloaded.model.acoustic_tower.encoder.layers[0].feed_forward.output_dense.weight,
                       encoder.encoder.layers[0].feed_forward.output_dense.weight)


def test_recipe_errors_name_the_field(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "o"), "learning_rte": 1e-4}))
    with pytest.raises(ValueError, match="learning_rte"):
        parse_recipe(recipe)
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_recipe(recipe, ["max_steps"])
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        parse_recipe(tmp_path / "missing.yaml")
    pretraining, training = parse_recipe(f"{RECIPES}/emotion2vec_s.yaml", ["max_steps=7"])
    assert (training.learning_rate, training.weight_decay, training.warmup_steps) == (7.5e-5, 0.01, 0.05)
    assert training.lr_scheduler_type == "cosine" and training.gradient_accumulation_steps == 2
    assert training.max_steps == 7 and pretraining.config_overrides == {
        "utterance_loss_weight": 0.1, "category_loss_weight": 100.0}


def test_streamed_corpora_mix_labelled_and_unlabelled_clips(corpora):
    from c2ser_hf.emotion2vec_training import load_pretraining_dataset

    entries = [{"path": str(corpora / "esd"), "name": "c2ser"},
               {"path": "audiofolder", "data_dir": str(corpora / "unlabelled"), "label_column": None}]
    streamed = list(load_pretraining_dataset(entries, streaming=True))
    in_memory = load_pretraining_dataset(entries)
    assert len(streamed) == in_memory.num_rows == 26
    assert sorted(row["labels"] for row in streamed) == sorted(in_memory["labels"])
    assert sorted(set(in_memory["labels"])) == [-100, 0, 1, 2, 3, 4]  # ESD's five emotions, unlabelled clips
    with pytest.raises(ValueError, match="no label column 'mood'"):
        load_pretraining_dataset([{"path": str(corpora / "esd"), "name": "c2ser", "label_column": "mood"}])


def test_collator_crops_by_clip_and_leaves_out_bad_clips(caplog):
    collate = PretrainingCollator(Emotion2VecSFeatureExtractor(do_normalize=True), max_seconds=0.5, seed=3)
    long = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    rows = [{"audio": {"array": long, "sampling_rate": 16000}, "labels": 2},
            {"audio": {"array": np.zeros(100, np.float32), "sampling_rate": 16000}, "labels": 1},
            {"audio": {"array": long[:6000], "sampling_rate": 16000}, "labels": -100}]
    first, second = collate(rows), collate(rows)
    assert first["input_values"].shape == (2, 8000) and first["labels"].tolist() == [2, -100]
    assert torch.equal(first["input_values"], second["input_values"])  # the crop depends on the clip only
    assert "batch item 1" in caplog.text and "fewer than the minimum" in caplog.text
    with pytest.raises(ValueError, match="no usable clip"):
        collate(rows[1:2])


def test_start_from_scratch_or_a_folder_of_the_right_kind(tmp_path):
    from c2ser_hf.emotion2vec_training import Emotion2VecPretrainingArguments, load_pretraining_model

    model, extractor = load_pretraining_model(Emotion2VecPretrainingArguments(
        model_config=TINY, config_overrides={"category_loss_weight": 0.0}))
    assert model.config.category_loss_weight == 0.0 and model.config.hidden_size == 32 and extractor.do_normalize
    assert all(torch.equal(t, s) for t, s in zip(model.teacher.parameters(), model.emotion2vec_s.encoder.parameters()))
    with pytest.raises(ValueError, match="not both"):
        load_pretraining_model(Emotion2VecPretrainingArguments(model=str(tmp_path), model_config=TINY))
    c2ser, processor = build_random_c2ser("tiny")
    c2ser.save_pretrained(tmp_path / "c2ser")
    with pytest.raises(ValueError, match="is a C2SER model; pretraining needs an Emotion2Vec-S"):
        load_pretraining_model(Emotion2VecPretrainingArguments(model=str(tmp_path / "c2ser")))
