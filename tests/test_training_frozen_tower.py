"""Emotion2Vec-S is frozen in C2SER training: its forward runs without a graph, so no step back-propagates through it,
and the trained parts' gradients are the same as when the tower's output was (needlessly) kept in the graph. When a
recipe does train the tower (`--trained_modules ... acoustic_tower`), it gets its gradients."""

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
    tower.feature_extractor._requires_grad = True  # what the tower did before: its output entered the graph
    kept = gradients(start.model, batch, seen)
    assert seen.pop() is True

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
