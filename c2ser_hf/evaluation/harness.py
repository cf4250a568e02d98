"""`evaluate_model`: score models on labelled speech datasets, resumably and across processes; `score_predictions`:
score saved predictions again without a model.

Each (model, dataset) gets a folder `OUT/<model>/<dataset>-<config>-<split>/` holding `run.json` (what is being
run), `predictions.jsonl` (one record per clip, appended batch by batch) and `confusion.png`. The batch plan depends
on the dataset alone, and a clip whose id is already in the predictions is never written again, so a killed run
resumes where it stopped and a run over N processes (torchrun / accelerate launch: each rank appends its share of
the batches to its own file, rank 0 merges and scores) gives what one process gives.
"""

import json
import os
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

from ..option_error import option_error
from ..processing import EMOTIONS
from .data import load_eval_set, short_name
from .judge import Judge
from .models import check_model, load_runner, model_revision, read_label_map, runner_for
from .predictions_file import append_predictions, read_predictions
from .ranks import Ranks
from .reports import eval_results, markdown_table, plot_confusion, write_json, write_atomic

PREDICTIONS, RUN_FILE, CONFUSION = "predictions.jsonl", "run.json", "confusion.png"
PACKAGES = ("c2ser-hf", "torch", "torchaudio", "transformers", "tokenizers", "datasets", "evaluate", "numpy")


def evaluate_model(
    models,
    datasets,
    out="evaluation",
    *,
    configs=None,
    split: str = "test",
    mode: str = "scores",
    decoding: str = "official",
    max_new_tokens: int | None = None,
    label_column: str = "emotion",
    label_map=None,
    judge: str | None = None,
    judge_model: str = "default",
    api_key: str | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    dtype="float32",
    cache_dir=None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Score each model (folder, Hub id or "official", or a loaded (model, processor or feature extractor) pair; a
    C2SER model or an audio classifier) on `split` of each dataset (a `prepare-data` folder, a Hub id with its
    schema, or any dataset with an audio column and a `label_column`), in each of `configs` unless the dataset names
    its own as "DATASET:CONFIG", and write the results, table, plots and predictions under `out`.

    `mode`: "scores" (the argmax of C2SER's emotion probabilities), "implicit" or "explicit" (generate with
    `decoding`, then parse the answer; `judge`, a model or an OpenAI-compatible URL, reads the answers instead as
    the paper did, and its agreement with the parser is reported). `label_map`: a dict or JSON file {label: emotion
    or null} for dataset and classifier labels the built-in wordings do not cover. `overwrite` discards earlier
    predictions in `out` instead of resuming them. Returns what `out/results.json` holds.
    """
    ranks = Ranks()
    out, started = Path(out), time.monotonic()
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    label_map = label_map if isinstance(label_map, dict) else read_label_map(label_map)
    models = [model if _is_loaded(model) else os.fspath(model) for model in _as_list(models)]
    checked = [None if _is_loaded(model) else check_model(model, cache_dir) for model in models]  # before any loading
    wanted = []
    for value in _as_list(datasets):
        source, named = _source_and_config(value)
        wanted += [(source, config) for config in ([named] if named else _as_list(configs) or [None])]
    sets = ranks.rank0_first(lambda: [load_eval_set(d, c, split, label_column, label_map) for d, c in wanted])
    reader = Judge(judge, judge_model, api_key, device=ranks.device(device)) if judge else None
    entries, described = [], []
    names = [model[0].name_or_path or "model" if _is_loaded(model) else model for model in models]
    for model, resolved, value, folder_name in zip(models, checked, names, _folder_names(names)):
        if _is_loaded(model):
            runner = runner_for(*model, mode, decoding, max_new_tokens, label_map)
        else:
            runner = load_runner(model, resolved, mode, decoding, max_new_tokens, label_map, ranks.device(device),
                                 dtype, cache_dir)
        model = {"model": value, "path": runner.model.name_or_path, "revision": model_revision(runner.model),
                 "settings": runner.settings}
        described.append(model)
        for evalset in sets:
            run = {**model, "model_name": folder_name, "setting": _setting(runner, decoding, reader),
                   "dataset": evalset.source, "name": evalset.name, "config": evalset.config, "split": evalset.split,
                   "label_column": label_column, "label_map": label_map, "judge": reader.identity if reader else None}
            folder = out / folder_name / _dataset_folder(evalset)
            entries.append(_evaluate_one(runner, evalset, folder, run, reader, ranks, batch_size, overwrite, progress))
    results = None
    if ranks.rank == 0:
        settings = {"mode": mode, "decoding": decoding, "max_new_tokens": max_new_tokens, "batch_size": batch_size,
                    "split": split, "label_column": label_column, "judge": reader.identity if reader else None,
                    "processes": ranks.world, "device": device}
        results = _write_results(out, entries, described, settings, time.monotonic() - started)
    ranks.barrier()
    ranks.close()
    return results if results is not None else json.loads((out / "results.json").read_text(encoding="utf-8"))


def score_predictions(files, out="evaluation", *, judge: str | None = None, judge_model: str = "default",
                      api_key: str | None = None, device: str | None = None) -> dict:
    """Score saved `predictions.jsonl` files again, no model needed; names come from the `run.json` beside each
    (else from the file's folder). `judge` reads the answers that have no judge label yet."""
    reader = Judge(judge, judge_model, api_key, device=device) if judge else None
    started, entries = time.monotonic(), []
    for file in _as_list(files):
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such predictions file")
        records = read_predictions(path)
        if not records:
            raise ValueError(f"{path}: holds no predictions")
        beside = path.parent / RUN_FILE
        run = json.loads(beside.read_text(encoding="utf-8")) if beside.is_file() else {
            "model": path.parent.parent.name, "model_name": path.parent.parent.name, "name": path.parent.name,
            "setting": "saved predictions"}
        if reader and any("judge" not in r for r in records):
            _add_judge_labels(records, reader)
            run = {**run, "setting": f"{run['setting']}, judge", "judge": reader.identity}
        entry = _entry(run, records, wall=0.0, scored_now=0)
        if "error" not in entry:
            plot_confusion(entry["metrics"], Path(out) / entry["model_name"] / path.parent.name / CONFUSION,
                           f"{entry['row']} · {run['name']}")
        entries.append(entry)
    models = list(dict.fromkeys(entry["model"] for entry in entries))
    settings = {"predictions": [os.fspath(f) for f in _as_list(files)], "judge": reader.identity if reader else None}
    return _write_results(Path(out), entries, [{"model": m} for m in models], settings, time.monotonic() - started)


def _evaluate_one(runner, evalset, folder: Path, run: dict, reader, ranks: Ranks, batch_size: int, overwrite: bool,
                  progress: bool) -> dict | None:
    from tqdm.auto import tqdm

    if ranks.rank == 0:
        _prepare_folder(folder, run, overwrite)
    ranks.barrier()
    done = {record["id"] for record in _all_records(folder)}
    ranks.barrier()  # every rank knows what is done before any rank appends
    plan = evalset.batches(batch_size)
    mine = [batch for k, batch in enumerate(plan)
            if k % ranks.world == ranks.rank and any(evalset.ids[i] not in done for i in batch)]
    target = folder / (PREDICTIONS if ranks.world == 1 else f"{PREDICTIONS}.rank{ranks.rank}")
    started = time.monotonic()
    with tqdm(total=sum(evalset.ids[i] not in done for batch in mine for i in batch), unit="clip",
              desc=f"{run['model_name']} · {evalset.name}", disable=not progress or ranks.rank != 0) as bar:
        for batch in mine:
            # a batch cut short by a kill runs whole again (same batch, same numbers); only its new clips are kept
            records = [r for r in _score_batch(runner, evalset, batch, reader) if r["id"] not in done]
            for record in records:
                if "error" in record:
                    bar.write(f"{evalset.name}: {record['error']}", file=sys.stderr)
            append_predictions(target, records)
            bar.update(len(records))
    ranks.barrier()
    if ranks.rank != 0:
        return None
    records = _merge_shards(folder)
    entry = _entry(run, records, wall=time.monotonic() - started, scored_now=len(records) - len(done))
    entry["excluded"] = dict(evalset.excluded)
    if "error" not in entry:
        plot_confusion(entry["metrics"], folder / CONFUSION, f"{run['model_name']} · {evalset.name} · {run['setting']}")
    return entry


def _prepare_folder(folder: Path, run: dict, overwrite: bool) -> None:
    """Start the folder, or check that the predictions in it come from this same run; cut torn last lines."""
    run = json.loads(json.dumps(run))
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUN_FILE
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        differs = sorted(key for key in set(run) | set(before) if run.get(key) != before.get(key))
        if differs:
            raise option_error(ValueError, f"{folder}: holds predictions of another run (it differs in "
                               f"{', '.join(differs)}); use another output folder, or {{option}} to discard them",
                               "overwrite=True", "--overwrite")
    else:
        write_json(path, run)
    for file in _prediction_files(folder):
        read_predictions(file, repair=True)


def _prediction_files(folder: Path) -> list[Path]:
    return [folder / PREDICTIONS] + sorted(folder.glob(f"{PREDICTIONS}.rank*"))


def _all_records(folder: Path) -> list[dict]:
    return [record for file in _prediction_files(folder) for record in read_predictions(file)]


def _merge_shards(folder: Path) -> list[dict]:
    """Append the records of the per-rank files that predictions.jsonl lacks, then delete those files (a rerun after
    a kill in between finds the records in both and keeps one)."""
    main = folder / PREDICTIONS
    records = read_predictions(main)
    have = {record["id"] for record in records}
    for shard in _prediction_files(folder)[1:]:
        new = [record for record in read_predictions(shard) if record["id"] not in have]
        append_predictions(main, new)
        records += new
        have.update(record["id"] for record in new)
        shard.unlink()
    return records


def _score_batch(runner, evalset, batch: list[int], reader) -> list[dict]:
    waveforms, errors = evalset.audio(batch)
    results = {index: {"error": message} for index, message in errors.items()}
    by_rate = {}
    for index, (_, rate) in waveforms.items():
        by_rate.setdefault(rate, []).append(index)
    for rate, indices in by_rate.items():
        results.update(zip(indices, runner([waveforms[i][0] for i in indices], rate)))
    records = []
    for index in batch:
        result = results[index]
        record = {"id": evalset.ids[index], "reference": evalset.references[index],
                  "language": evalset.languages[index]}
        if "error" in result:
            record["error"] = result["error"]
        else:
            record.update(prediction=result.get("prediction"), probabilities=result.get("probabilities"),
                          text=result.get("text"))
        records.append(record)
    if reader:
        _add_judge_labels(records, reader)
    return records


def _add_judge_labels(records: list[dict], reader) -> None:
    answered = [r for r in records if "error" not in r]
    for record, label in zip(answered, reader([r.get("text") or "" for r in answered])):
        record["judge"] = label


def _entry(run: dict, records: list[dict], wall: float, scored_now: int) -> dict:
    """The results of one (model, dataset): metrics over the clips that could be scored, in id order (so any
    process count or resume gives the same numbers), per language when the dataset has more than one."""
    from . import load_metric

    scored = sorted((r for r in records if "error" not in r), key=lambda r: r["id"])
    name = run["model_name"]
    entry = {"model": run["model"], "model_name": name, "revision": run.get("revision"),
             "row": f"{name} ({run['setting']})",
             "setting": run["setting"], "dataset": run["name"], "source": run.get("dataset"),
             "config": run.get("config"), "split": run.get("split"), "clips": len(scored),
             "failed": len(records) - len(scored), "scored_now": scored_now, "wall_s": round(wall, 3),
             "clips_per_s": round(scored_now / wall, 3) if wall > 0 and scored_now else None}
    if not scored:
        entry["error"] = "no clip could be scored"
        return entry
    metric = load_metric(keep_in_memory=True)
    judged = "judge" in scored[0]
    field = "judge" if judged else "prediction"
    entry["metrics"] = _compute(metric, scored, field)
    languages = sorted({r["language"] for r in scored if r.get("language")})
    if len(languages) > 1:
        entry["by_language"] = {language: _compute(metric, [r for r in scored if r.get("language") == language], field)
                                for language in languages}
    if judged:
        parser = _compute(metric, scored, "prediction")
        entry["judge"] = {"agreement_with_parser": sum(r["judge"] == r["prediction"] for r in scored) / len(scored),
                          "parser": {key: parser[key] for key in ("wa", "ua", "macro_f1", "unparseable_rate")}}
    return entry


def _compute(metric, records: list[dict], field: str) -> dict:
    probabilities = None
    if all(r.get("probabilities") for r in records):
        probabilities = [[r["probabilities"][e] for e in EMOTIONS] for r in records]
    return metric.compute(predictions=[r[field] for r in records], references=[r["reference"] for r in records],
                          probabilities=probabilities)


def _write_results(out: Path, entries: list[dict], models: list[dict], settings: dict, wall: float) -> dict:
    results = {"models": models, "settings": settings, "versions": _versions(), "wall_s": round(wall, 3),
               "results": entries}
    write_json(out / "results.json", results)
    table = [entry for entry in entries if "metrics" in entry]
    if table:
        write_atomic(out / "results.md", markdown_table(table))
    for name in dict.fromkeys(entry["model_name"] for entry in table):
        write_json(out / name / "eval_results.json", eval_results([e for e in table if e["model_name"] == name]))
    return results


def _setting(runner, decoding: str, reader) -> str:
    """How the model was run, as table rows name it: "scores", "implicit, official", … or "classifier"."""
    kind = runner.settings
    if kind["kind"] != "c2ser":
        return "classifier"
    if kind["mode"] == "scores":
        return "scores"
    return f"{kind['mode']}, {decoding}" + (", judge" if reader else "")


def _folder_names(values: list[str]) -> list[str]:
    """A folder name per model: a local folder's name or the Hub id with "--" for "/", numbered when repeated."""
    names = []
    for value in values:
        name = short_name(value).replace("/", "--")
        names.append(name if name not in names else f"{name}-{len(names) + 1}")
    return names


def _dataset_folder(evalset) -> str:
    return "-".join(part for part in (short_name(evalset.source).replace("/", "--"), evalset.config,
                                      evalset.split) if part)


def _source_and_config(value) -> tuple[str, str | None]:
    """"data/esd:c2ser" -> ("data/esd", "c2ser"); a value that exists as a path is taken whole."""
    value = os.fspath(value)
    source, _, config = value.rpartition(":")
    if source and config and "/" not in config and not Path(value).exists():
        return source, config
    return value, None


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, os.PathLike)) or _is_loaded(value) else list(value)


def _is_loaded(model) -> bool:
    """A (model, processor) pair rather than a model's name."""
    return isinstance(model, tuple) and len(model) == 2 and hasattr(model[0], "config")


def _versions() -> dict:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions
