"""Training in one process: the starting points (a fresh C2SER assembled from pretrained parts, a light model, a merged
one), the per-step choice inside the Trainer, the saved model (light by default, merged on request) with its model card,
publishing, streaming data, the TRL-style example and the `train` command's own options."""

import json
import math
import runpy
import sys
from pathlib import Path

import datasets
import huggingface_hub.constants
import numpy as np
import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoModelForMultimodalLM, WhisperForConditionalGeneration

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.cli import main
from c2ser_hf.modeling import Emotion2VecSModel
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.processing.processing_c2ser import IGNORE_INDEX
from c2ser_hf.training import (C2SERModelArguments, C2SERTrainer, CoTCollator, choose_explicit, load_starting_point,
                               load_training_data, parse_recipe, select_variant)
from c2ser_hf.training.assembly import assemble_c2ser

from hub_standin import HubStandIn

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_c2ser.py"
CPU = ["--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--disable_tqdm", "true", "--logging_steps", "1",
       "--save_strategy", "no", "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "2",
       "--dataloader_num_workers", "0"]


def parts_args(parts):
    return [x for name, path in parts.items() for x in (f"--{name}", path)]


def probe(processor, cot_dataset, explicit=False):
    rows = datasets.load_dataset(cot_dataset, split="train")
    return select_variant(CoTCollator(processor)([rows[1], rows[8]]), explicit)


def logits(model, batch):
    with torch.no_grad():
        return model.eval()(**batch).logits


@pytest.fixture(scope="module")
def trained(tmp_path_factory, training_parts, cot_dataset):
    """The TRL-style example run from pretrained parts: 2 steps of stage 2 with gradient checkpointing."""
    out = tmp_path_factory.mktemp("example")
    argv = [str(EXAMPLE), "--config", "stage2_implicit", "--dataset_name", cot_dataset, "--output_dir", str(out),
            *parts_args(training_parts), *CPU, "--max_steps", "2", "--gradient_checkpointing", "true"]
    saved, sys.argv = sys.argv, argv
    try:
        namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    finally:
        sys.argv = saved
    return out, namespace["trainer"], namespace["start"]


def test_a_fresh_model_takes_each_part_from_its_folder(training_parts):
    model, processor = assemble_c2ser(training_parts["whisper"], training_parts["emotion2vec"],
                                      training_parts["language_model"])
    whisper = WhisperForConditionalGeneration.from_pretrained(training_parts["whisper"]).model.encoder.state_dict()
    acoustic = Emotion2VecSModel.from_pretrained(training_parts["emotion2vec"]).state_dict()
    llm = AutoModelForCausalLM.from_pretrained(training_parts["language_model"]).state_dict()
    ours = model.state_dict()
    for prefix, reference in (("model.audio_tower.", whisper), ("model.acoustic_tower.", acoustic)):
        assert all(torch.equal(ours[prefix + k], v) for k, v in reference.items()), prefix
    assert all(torch.equal(ours["model.language_model." + k[len("model."):] if k.startswith("model.") else k], v)
               for k, v in llm.items())
    assert model.config.audio_config.dropout == 0.1  # C2SER trains Whisper with dropout, whatever the checkpoint says
    assert model.config.link_config.intermediate_size == 5 * model.config.link_config.hidden_size // 2
    assert torch.allclose(model.model.link.after_norm.weight, torch.ones(64))  # the new parts are initialised
    inputs = processor([np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)], mode="implicit")
    assert torch.isfinite(logits(model, inputs)).all()  # placeholder count = speech block length


def test_lora_sits_on_the_language_model_only_and_the_parts_train_fully(trained):
    _, trainer, _ = trained
    names = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    lora = [n for n in names if ".lora_" in n]
    assert lora and all(".language_model.layers." in n for n in lora)
    assert {n.split(".lora_")[0].rsplit(".", 1)[1] for n in lora} == {"q_proj", "k_proj", "v_proj", "o_proj",
                                                                         "gate_proj", "down_proj"}
    full = {n.split(".modules_to_save.")[0].rsplit(".", 1)[1] for n in names if ".lora_" not in n}
    assert full == {"audio_tower", "downsampler", "link", "projector", "speech_boundary"}
    assert not any("acoustic_tower" in n for n in names)


def test_each_step_uses_its_chosen_variant_and_counts_its_label_tokens(trained, cot_dataset):
    _, trainer, start = trained
    rows = datasets.load_dataset(cot_dataset, split="train")
    batches = [CoTCollator(start.processor)([rows[i], rows[i + 1]]) for i in (0, 2, 4, 6)]
    seed = trainer.args.seed
    step = next(s for s in range(1, 100) if 0 < sum(choose_explicit(seed, s, m, 0.5) for m in range(4)) < 4)
    trainer.state.global_step, trainer.state.max_steps = step, 2 * step + 1  # P(explicit) = 0.5: both kinds drawn
    chosen, count = trainer.get_batch_samples(iter(batches), 4, torch.device("cpu"))
    choices = trainer.cot_choices[-4:]
    assert choices == [(step, m, choose_explicit(seed, step, m, 0.5)) for m in range(4)]
    for batch, (_, _, explicit), inputs in zip(batches, choices, chosen):
        assert inputs["labels"] is batch["explicit" if explicit else "implicit"]["labels"]
    assert int(count) == sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in chosen)


def test_the_loss_is_normalised_over_the_accumulated_micro_batches(trained):
    _, trainer, start = trained
    first = [entry for entry in trainer.state.log_history if "loss" in entry][0]
    vocabulary = start.model.get_base_model().config.text_config.vocab_size
    # a random model's token loss is about log(vocabulary); without the recount it would be summed over 2 micro-batches
    print(f"first step loss {first['loss']:.3f}, log(vocabulary) {math.log(vocabulary):.3f}")
    assert abs(first["loss"] / math.log(vocabulary) - 1) < 0.2
    assert first["cot/explicit_probability"] == 1.0 and first["cot/explicit_fraction"] == 1.0


def test_light_save_reloads_to_the_trained_model(trained, cot_dataset, training_parts):
    out, trainer, start = trained
    folder = out / "model"
    config = json.loads((folder / "config.json").read_text())
    assert config["base_model_name_or_path"] == training_parts["language_model"]
    with safe_open(folder / "model.safetensors", "pt") as handle:
        keys = set(handle.keys())
        state = trainer.model.state_dict()
        assert torch.equal(handle.get_tensor("model.projector.weight"),
                           state["base_model.model.model.projector.modules_to_save.default.weight"])
    assert keys and not any(k.startswith(("model.language_model.", "lm_head.")) for k in keys)
    assert any(k.startswith("model.acoustic_tower.") for k in keys)  # frozen, but part of C2SER
    batch = probe(start.processor, cot_dataset)
    expected = logits(trainer.model, batch)
    merged_at_load = AutoModelForMultimodalLM.from_pretrained(folder)
    diff = (logits(merged_at_load, batch) - expected).abs().max().item()
    print(f"light save reloaded (adapter merged) vs trained: max abs diff {diff:.2e}")
    assert diff < 1e-5
    # fine-tuning it again continues the saved adapter on the base language model: the very same function
    again = load_starting_point(C2SERModelArguments(model_name_or_path=str(folder)))
    assert torch.equal(logits(again.model, batch), expected)
    assert again.base_model == training_parts["language_model"] and len(again.history) == 1


def test_merged_save_on_request(trained, cot_dataset, tmp_path):
    _, trainer, start = trained
    trainer.args.save_format = "merged"
    try:
        trainer.save_model(str(tmp_path / "merged"))
    finally:
        trainer.args.save_format = "light"
    config = json.loads((tmp_path / "merged" / "config.json").read_text())
    assert config["base_model_name_or_path"] is None
    assert not (tmp_path / "merged" / "adapter_model.safetensors").exists()
    batch = probe(start.processor, cot_dataset)
    diff = (logits(AutoModelForMultimodalLM.from_pretrained(tmp_path / "merged"), batch)
            - logits(trainer.model, batch)).abs().max().item()
    print(f"merged save vs trained: max abs diff {diff:.2e}")
    assert diff < 1e-5
    with pytest.raises(ValueError, match="holds the checkpoints; save the model to a folder of its own"):
        trainer.save_model(trainer.args.output_dir)


def test_evaluation_uses_the_configured_targets(trained, cot_dataset):
    _, trainer, _ = trained
    rows = datasets.load_dataset(cot_dataset, split="train").select(range(4))
    losses = {}
    for mode in ("implicit", "explicit"):
        trainer.args.eval_mode = mode
        losses[mode] = trainer.evaluate(rows)["eval_loss"]
    trainer.args.eval_mode = "implicit"
    assert all(math.isfinite(v) for v in losses.values()) and losses["implicit"] != losses["explicit"]


# From here on, tests make new training arguments, which resets the accelerate state the `trained` trainer uses.


def test_stage_two_from_stage_one_trains_the_head_too_and_publishes_a_card_with_both_stages(
        trained, cot_dataset, tmp_path, monkeypatch):
    out, _, _ = trained
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # the stand-in is on 127.0.0.1
    with HubStandIn(tmp_path / "hub") as hub:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
        data_args, training_args, model_args = parse_recipe([
            "--config", "stage2_implicit", "--model_name_or_path", str(out / "model"), "--dataset_name", cot_dataset,
            "--output_dir", str(tmp_path / "stage2"), *CPU, "--max_steps", "1", "--gradient_checkpointing", "false",
            "--push_to_hub", "true", "--hub_model_id", "someone/c2ser-stage2", "--hub_token", "hf_test",
            "--trained_modules", "audio_tower", "downsampler", "link", "projector", "speech_boundary", "lm_head"])
        start = load_starting_point(model_args, training_args)
        train_dataset, _ = load_training_data(data_args)
        trainer = C2SERTrainer(start, training_args, train_dataset=train_dataset, dataset_description="espeak set")
        trainer.train()
        trainer.save_model()
    uploaded = tmp_path / "hub" / "someone" / "c2ser-stage2"
    assert (uploaded / "adapter_model.safetensors").is_file() and (uploaded / "training.json").is_file()
    with safe_open(uploaded / "model.safetensors", "pt") as handle:  # a trained part of the language model is kept
        assert "lm_head.weight" in handle.keys() and not any(".layers." in k and "language_model" in k
                                                              for k in handle.keys())
    batch = probe(start.processor, cot_dataset)
    reloaded = AutoModelForMultimodalLM.from_pretrained(uploaded)
    diff = (logits(reloaded, batch) - logits(trainer.model, batch)).abs().max()
    print(f"light save with a trained head, reloaded from the Hub stand-in vs trained: max abs diff {diff:.2e}")
    assert diff < 1e-5
    card = (uploaded / "README.md").read_text(encoding="utf-8")
    assert "| 1 | assembled from" in card and f"| 2 | fine-tuned from {out / 'model'} | espeak set | 1 |" in card
    assert len(hub.commits) == 1  # the model only, no trainer checkpoints


def test_a_merged_starting_point_saves_merged(tmp_path, cot_dataset):
    write_random_c2ser(tmp_path / "tiny")
    _, training_args, model_args = parse_recipe(["--model_name_or_path", str(tmp_path / "tiny"), "--output_dir",
                                                 str(tmp_path / "run"), *CPU])
    start, rows = load_starting_point(model_args, training_args), datasets.load_dataset(cot_dataset, split="train")
    with pytest.raises(ValueError, match="fine-tuned from a merged checkpoint has no base language model"):
        C2SERTrainer(start, training_args, train_dataset=rows)  # before any training, not after
    training_args.save_format = "merged"
    C2SERTrainer(start, training_args, train_dataset=rows).save_model()
    assert AutoModelForMultimodalLM.from_pretrained(tmp_path / "run" / "model").config.base_model_name_or_path is None


def test_streaming_data_is_sharded_for_every_worker(tmp_path, cot_dataset, training_parts):
    rows = datasets.load_dataset(cot_dataset, split="train")
    (tmp_path / "stream" / "data").mkdir(parents=True)
    rows.to_parquet(str(tmp_path / "stream" / "data" / "train-00000.parquet"), batch_size=4)  # 4 row groups
    args = ["--dataset_name", str(tmp_path / "stream"), "--dataset_streaming", "true", *parts_args(training_parts),
            "--output_dir", str(tmp_path / "run"), *CPU, "--max_steps", "2", "--gradient_checkpointing", "false",
            "--dataloader_num_workers", "2"]
    data_args, training_args, model_args = parse_recipe(args)
    train_dataset, _ = load_training_data(data_args, world_size=1, num_workers=2)
    assert train_dataset.num_shards >= 2
    trainer = C2SERTrainer(load_starting_point(model_args, training_args), training_args, train_dataset=train_dataset)
    trainer.train()
    assert trainer.state.global_step == 2
    with pytest.raises(ValueError, match=r"shard\(s\) cannot feed 8 process\(es\) × 2 dataloader worker\(s\)"):
        load_training_data(data_args, world_size=8, num_workers=2)


def test_cli_options_and_one_line_errors(tmp_path, capsys, training_parts, cot_dataset):
    assert main(["train", "--launch-config", "fsdp.yaml"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()
    assert main(["train", "--list-fields"]) == 0
    fields = capsys.readouterr().out
    assert all(f"--{name}" in fields for name in ("cot_schedule", "learning_rate", "deepspeed", "lora_r", "whisper"))
    assert main(["train", "--config", "nonexistent.yaml"]) == 2
    assert "c2ser-hf train: error: nonexistent.yaml: no such recipe file" in capsys.readouterr().err
    assert main(["train", "--config", "stage2_implicit", "--output_dir", str(tmp_path), *CPU,
                 "--dataset_name", str(tmp_path / "missing"), *parts_args(training_parts)]) == 2
    assert "c2ser-hf train: error:" in capsys.readouterr().err
    parts = {**training_parts, "whisper": training_parts["emotion2vec"]}
    assert main(["train", "--config", "stage2_implicit", "--output_dir", str(tmp_path / "out"), *CPU,
                 "--dataset_name", cot_dataset, *parts_args(parts)]) == 2
    assert capsys.readouterr().err.strip().endswith("is an Emotion2Vec-S model; whisper must be a Whisper model, "
                                                    "e.g. openai/whisper-medium")
