"""Emotion2Vec-S is frozen in C2SER training: its forward runs without a graph, so no step back-propagates through it,
and the trained parts' gradients are the same as when the tower's output was (needlessly) kept in the graph. The model
does this itself, so it holds for a peft model built by hand as for the trainer's starting points. When a recipe does
train the tower (`--trained_modules ... acoustic_tower`), or a gradient is wanted at the waveform, the graph is kept."""

import datasets
import torch

from c2ser_hf.training import CoTCollator, load_starting_point, parse_recipe, select_variant


def start_from_parts(training_parts, tmp_path, *extra):
    parts = [x for name, path in training_parts.items() for x in (f"--{name}", path)]
    _, training_args, model_args = parse_recipe(["--config", "stage1_explicit", "--output_dir", str(tmp_path), *parts,
                                                 "--use_cpu", "true", "--bf16", "false", "--dtype", "float32", *extra])
    return load_starting_point(model_args, training_args)


def gradients(model, batch, seen):
    model.train().zero_grad()
    torch.manual_seed(0)  # the same dropout masks in both runs
    model(**batch).loss.backward()
    assert len(seen) == 1
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}


def test_the_frozen_tower_runs_no_backward_and_the_gradients_stay_the_same(training_parts, cot_dataset, tmp_path):
    start = start_from_parts(training_parts, tmp_path)
    rows = datasets.load_dataset(cot_dataset, split="train")
    batch = select_variant(CoTCollator(start.processor)([rows[1], rows[8]]), True)
    tower = start.model.get_base_model().model.acoustic_tower
    seen = []
    tower.register_forward_hook(lambda module, args, output: seen.append(output.utterance_features.requires_grad))

    frozen = gradients(start.model, batch, seen)
    assert seen.pop() is False
    # what transformers' feature encoder did before in training mode: it marked the waveform as needing gradients
    batch["input_values"].requires_grad_(True)
    kept = gradients(start.model, batch, seen)
    assert seen.pop() is True
    assert batch["input_values"].grad is not None and float(batch["input_values"].grad.abs().max()) > 0

    assert frozen.keys() == kept.keys() and len(frozen) > 0
    difference = max(float((frozen[name] - kept[name]).abs().max()) for name in frozen)
    print(f"max abs difference of the trained parameters' gradients: {difference:.3g} over {len(frozen)} tensors")
    assert difference <= 1e-7


def test_a_trained_tower_still_gets_its_gradients(training_parts, cot_dataset, tmp_path):
    from c2ser_hf.training.assembly import TRAINED_MODULES

    start = start_from_parts(training_parts, tmp_path, "--trained_modules", *TRAINED_MODULES, "acoustic_tower")
    rows = datasets.load_dataset(cot_dataset, split="train")
    batch = select_variant(CoTCollator(start.processor)([rows[1], rows[8]]), True)
    start.model.train()
    start.model(**batch).loss.backward()
    tower = [(n, p) for n, p in start.model.named_parameters() if "acoustic_tower" in n and p.requires_grad]
    assert tower and all(p.grad is not None for _, p in tower)
    assert any(float(p.grad.abs().max()) > 0 for n, p in tower if "feature_extractor.conv_layers.0" in n)


def test_a_hand_built_peft_model_and_a_bare_tower_build_no_graph_through_the_frozen_tower(tester):
    from peft import LoraConfig, get_peft_model

    model = tester.model(seed=0)
    lora = LoraConfig(r=4, target_modules=r".*language_model.*\.(q_proj|v_proj)")  # the tower has q/v_proj too
    model = get_peft_model(model, lora).train()
    batch = tester.inputs([16000, 12000])
    tower = model.get_base_model().model.acoustic_tower
    seen = []
    tower.register_forward_hook(lambda module, args, output: seen.append(output.last_hidden_state.requires_grad))
    model(**batch)
    assert seen.pop() is False

    tower.requires_grad_(False).train()
    waveform = batch["input_values"][:1]
    assert tower(waveform).last_hidden_state.requires_grad is False
    assert tower(waveform.clone().requires_grad_(True)).last_hidden_state.requires_grad is True
    tower.encoder.requires_grad_(True)
    assert tower(waveform).last_hidden_state.requires_grad is True
    with torch.no_grad():
        assert tower(waveform).last_hidden_state.requires_grad is False
