"""The EmoBox-style probe in one call: cached frozen features, each head trained per fold, WA/UA/F1 by the
evaluation metric module, a Markdown table per corpus. Results are written after every fold, so a rerun resumes.
The output folder is a results folder (`output_folder.results_folder`): one run writes it at a time, a user's files
are never replaced, and it never lies in or around a model or dataset."""

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from ..atomic_files import write_atomic, write_json
from ..model_loading import ModelInputError, load_audio_encoder, resolve_model
from ..option_error import option_error
from ..output_folder import check_apart_from_inputs, check_results_folder, record_written, results_folder
from ..processing.emotion_parsing import EMOTIONS
from .features import FeatureCache, cache_features, check_usable
from .folds import fold_names, label_names, load_fold, validation_split
from .heads import HEADS
from .train import clip_features, predict, train_head

SCORES = ("wa", "ua", "macro_f1")
RESULTS, TABLES, FEATURES = "results.json", "results.md", "features"


def storage_key(name: str) -> str:
    """A folder name for a model or dataset: readable, and distinct for distinct paths or ids."""
    resolved = str(Path(name).resolve()) if Path(name).exists() else name
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name or name)[:60]
    return f"{readable}-{hashlib.sha1(resolved.encode()).hexdigest()[:8]}"


def check_encoder(value: str) -> None:
    """Refuse, in one line, a model the probe cannot take frame features from: one that does not resolve, or a whole
    C2SER model (its towers take log-mel and waveform inputs together, not a speech encoder's `input_values`)."""
    resolved = resolve_model(value, None)
    if resolved.config.get("model_type") == "c2ser":
        raise ModelInputError(f"{value}: is a C2SER model; probe needs a speech encoder: an Emotion2Vec-S folder, or "
                              "a transformers one (WavLM, HuBERT, wav2vec 2.0, ...)")


def _read_state(path: Path, settings: dict) -> dict:
    """The results an earlier run of the same settings left in `path` ({} when there is none)."""
    if not path.is_file():
        return {}
    where = str(path).replace("{", "{{").replace("}", "}}")  # the message is a template for its option
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        state = None
    if not isinstance(state, dict) or not all(isinstance(state.get(key), dict) for key in ("settings", "results")) \
            or not isinstance(state.get("failed", {}), dict):
        raise option_error(ValueError, f"{where}: is not a probe's results (a JSON object with settings, results "
                           "and failed); use another output folder, or {option} to discard it", "overwrite=True",
                           "--overwrite")
    before = state["settings"]
    differs = sorted(key for key in set(settings) | set(before) if settings.get(key) != before.get(key))
    if differs:
        raise option_error(ValueError, f"{where} holds results of other settings (they differ in "
                           f"{', '.join(differs)}); use another output folder, or {{option}} to discard them",
                           "overwrite=True", "--overwrite")
    return state


def markdown_tables(results: dict) -> str:
    """One table per corpus: WA, UA and macro-F1 in %, averaged over its folds, one row per model and head."""
    lines = []
    for dataset in dict.fromkeys(entry["dataset"] for entry in results.values()):
        rows = {}
        for entry in results.values():
            if entry["dataset"] == dataset:
                rows.setdefault((entry["model"], entry["head"]), []).append(entry)
        folds = sorted({entry["fold"] for entries in rows.values() for entry in entries})
        lines += [f"### {dataset} ({len(folds)} fold{'s' * (len(folds) > 1)}: {', '.join(folds)})", "",
                  "| model | head | WA | UA | F1 |", "|---|---|---:|---:|---:|"]
        for (model, head), entries in rows.items():
            means = [100 * np.mean([entry[score] for entry in entries]) for score in SCORES]
            lines.append(f"| {model} | {head} | " + " | ".join(f"{value:.2f}" for value in means) + " |")
        lines.append("")
    return "\n".join(lines)


def probe(models: list[str], datasets: list[str], out_dir: str | os.PathLike, folds: list[str] | None = None,
          heads: tuple[str, ...] = ("paper", "emotion2vec"), cache_dir: str | os.PathLike | None = None,
          epochs: int = 100, learning_rate: float = 5e-4, batch_size: int = 128, layer_norm: bool = True,
          validation_fraction: float = 0.2, label_column: str = "emotion", device: str = "cpu", seed: int = 0,
          metric=None, progress: bool = True, overwrite: bool = False) -> dict:
    """Probe each model (an Emotion2Vec-S folder, or any `AutoModel` speech encoder as a baseline) on each dataset.

    Per fold: the head is trained on the fold's train split minus a held-out `validation_fraction` (or on its
    `validation` split when it has one), the epoch with the best validation UA is kept, and it is scored on the
    test split (its predictions are kept in the results). Features of every clip are computed once per model and
    cached under `cache_dir` (default `out_dir/features`). Writes `results.json` (one entry per model, dataset, fold
    and head) and `results.md`; a rerun with the same settings resumes them, `overwrite` discards them (and the
    features cached in `out_dir`). `metric`: an object with `compute(predictions, references)` giving `wa`, `ua`,
    `macro_f1`; by default the package's evaluation metric module."""
    unknown = [head for head in heads if head not in HEADS]
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; choose from {list(HEADS)}")
    for model_name in models:
        check_encoder(model_name)  # a wrong name or kind fails here, before any output exists
    inputs = [*models, *datasets]
    check_results_folder(out_dir, inputs)
    if cache_dir is not None:
        check_apart_from_inputs(cache_dir, inputs)
    fold_lists = {dataset: fold_names(dataset, folds) for dataset in datasets}
    if metric is None:
        from ..evaluation import load_metric

        metric = load_metric()
    settings = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "layer_norm": layer_norm,
                "validation_fraction": validation_fraction, "label_column": label_column, "seed": seed}

    def score(predicted: list[str], references: list[str]) -> dict:
        values = metric.compute(predictions=predicted, references=references)
        return {name: float(values[name]) for name in SCORES}

    with results_folder(out_dir, {"command": "probe"}, [RESULTS, TABLES], overwrite, inputs) as out_dir:
        cache_root = Path(cache_dir) if cache_dir else out_dir / FEATURES
        state = _read_state(out_dir / RESULTS, settings)
        results, failures = state.get("results", {}), state.get("failed", {})
        for dataset in datasets:
            names = fold_lists[dataset]
            splits = {fold: load_fold(dataset, fold, label_column) for fold in names}
            labels = {fold: {name: label_names(split, label_column) for name, split in parts.items()}
                      for fold, parts in splits.items()}
            classes = [e for e in EMOTIONS
                       if any(e in values for parts in labels.values() for values in parts.values())]
            for model_name in models:
                pending = [(fold, head) for fold in names for head in heads
                           if f"{model_name} | {dataset} | {fold} | {head}" not in results]
                if not pending:
                    continue
                model, extractor = load_audio_encoder(model_name, device)
                cache = FeatureCache(cache_root / storage_key(model_name) / storage_key(dataset))
                failed = failures.setdefault(f"{model_name} | {dataset}", {})
                for parts in splits.values():
                    for split in parts.values():
                        failed.update(cache_features(model, extractor, split, cache, progress=progress).failed)
                check_usable(failed, {i for parts in splits.values() for split in parts.values() for i in split["id"]},
                             dataset)
                if cache_dir is None:  # listed in the folder's marker, so that an overwrite deletes them too
                    record_written(out_dir, [FEATURES])
                for fold, head in pending:
                    data = _fold_features(splits[fold], labels[fold], classes, cache, failed, layer_norm,
                                          validation_fraction, seed)

                    def selection_score(predicted, references):
                        return score([classes[i] for i in predicted], [classes[i] for i in references])["ua"]

                    trained = train_head(head, data["train"][:2], data["validation"][:2], len(classes),
                                         selection_score, epochs=epochs, learning_rate=learning_rate,
                                         batch_size=batch_size, seed=seed)
                    test_features, test_labels, test_ids = data["test"]
                    predicted = [classes[i] for i in predict(trained, test_features)]
                    references = [classes[i] for i in test_labels]
                    results[f"{model_name} | {dataset} | {fold} | {head}"] = {
                        "model": model_name, "dataset": dataset, "fold": fold, "head": head,
                        **score(predicted, references),
                        "ids": test_ids, "predictions": predicted, "references": references,
                    }
                    write_json(out_dir / RESULTS, {"settings": settings, "results": results, "failed": failures})
        tables = markdown_tables(results)
        write_atomic(out_dir / TABLES, tables)
    return {"results": results, "failed": failures, "tables": tables}


def _fold_features(parts, labels, classes, cache, failed, layer_norm, validation_fraction, seed) -> dict:
    """{train, validation, test: (feature tensors, label indices, clip ids)} of one fold, leaving out clips that
    failed."""

    def load(split, names, indices):
        ids = list(split["id"])
        kept = [i for i in indices if ids[i] not in failed]
        features = [clip_features(cache.load(ids[i]), layer_norm) for i in kept]
        return features, np.array([classes.index(names[i]) for i in kept], dtype=np.int64), [ids[i] for i in kept]

    train = parts["train"]
    data = {"test": load(parts["test"], labels["test"], range(parts["test"].num_rows))}
    if "validation" in parts:
        data["train"] = load(train, labels["train"], range(train.num_rows))
        data["validation"] = load(parts["validation"], labels["validation"], range(parts["validation"].num_rows))
    else:
        kept, held = validation_split(train.num_rows, validation_fraction, seed)
        data["train"] = load(train, labels["train"], kept)
        data["validation"] = load(train, labels["train"], held)
    return data
