"""`evaluate_model`: score models on labelled speech datasets, resumably and across processes; `score_predictions`:
score saved predictions again without a model.

Each (model, dataset) gets a folder `OUT/<model>/<dataset>-<config>-<split>/` holding `run.json` (what is being
run), `predictions.jsonl` (one record per clip, appended batch by batch) and `confusion.png`. The batch plan depends
on the dataset alone, and a clip whose id is already in the predictions is never written again, so a killed run
resumes where it stopped and a run over N processes (torchrun / accelerate launch: each rank appends its share of
the batches to its own file, rank 0 merges and scores) gives what one process gives.
"""

import contextlib
import json
import os
import time
from importlib import metadata
from pathlib import Path

from ..atomic_files import write_atomic, write_json
from ..batch_sizes import padding_budget
from ..corpus import sharded
from ..corpus.dataset_input import language_of, run_decoded
from ..corpus.predictions_file import read_predictions
from ..corpus.ranks import Ranks
from ..output_folder import check_results_folder, results_folder, safe_name
from ..processing import EMOTIONS
from .data import load_eval_set, short_name
from .judge import Judge
from .models import check_model, load_runner, model_revision, read_label_map, runner_for
from .reports import eval_results, markdown_table, plot_confusion

RUN_FILE, CONFUSION = sharded.RUN_FILE, "confusion.png"
# answer languages of the scores: both (None), one, or each clip's own (its dataset's `language` column)
ANSWER_LANGUAGES = (None, "en", "zh", "dataset")
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
    batch_size: int | str = 8,
    device: str = "cpu",
    dtype="float32",
    cache_dir=None,
    overwrite: bool = False,
    progress: bool = True,
    answer_language: str | None = None,
    model_options: dict | None = None,
) -> dict:
    """Score each model (folder, Hub id or "official", or a loaded (model, processor or feature extractor) pair; a
    C2SER model or an audio classifier) on `split` of each dataset (a `prepare-data` folder, a Hub id with its
    schema, or any dataset with an audio column and a `label_column`), in each of `configs` unless the dataset names
    its own as "DATASET:CONFIG", and write the results, table, plots and predictions under `out`.

    `mode`: "scores" (the argmax of C2SER's emotion probabilities), "implicit" or "explicit" (generate with
    `decoding`, then parse the answer; `judge`, a model or an OpenAI-compatible URL, reads the answers instead as
    the paper did, and its agreement with the parser is reported). `label_map`: a dict or JSON file {label: emotion
    or null} for dataset and classifier labels the built-in wordings do not cover. `overwrite` discards earlier
    predictions in `out` instead of resuming them. `batch_size`: clips per batch, or "auto" (by the device's free
    memory, `c2ser_hf/batch_sizes.py`). `answer_language` ("en", "zh", or "dataset": each clip's `language` column)
    restricts C2SER's emotion scores to that language's answers. `model_options`: keywords of `load_c2ser` for the
    C2SER models named (quantization, encoder_precision, compile_encoders). Returns what `out/results.json` holds.
    """
    ranks = Ranks()
    out, started = Path(out), time.monotonic()
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    if answer_language not in ANSWER_LANGUAGES:
        raise ValueError(f"answer_language must be one of {ANSWER_LANGUAGES}, got {answer_language!r}")
    label_map = label_map if isinstance(label_map, dict) else read_label_map(label_map)
    models = [model if _is_loaded(model) else os.fspath(model) for model in _as_list(models)]
    checked = [None if _is_loaded(model) else check_model(model, cache_dir) for model in models]  # before any loading
    wanted = []
    for value in _as_list(datasets):
        source, named = _source_and_config(value)
        wanted += [(source, config) for config in ([named] if named else _as_list(configs) or [None])]
    for _, config in wanted:
        if config is not None:
            safe_name(config, "config")
    safe_name(split, "split")
    inputs = [source for source, _ in wanted] + [m for m in models if not _is_loaded(m)]
    check_results_folder(out, inputs)  # before any data is read
    sets = ranks.rank0_first(lambda: [load_eval_set(d, c, split, label_column, label_map) for d, c in wanted])
    names = [model[0].name_or_path or "model" if _is_loaded(model) else model for model in models]
    folder_names = _folder_names(names)
    results_of = [f"{name}/{_dataset_folder(evalset)}" for name in folder_names for evalset in sets]
    files = ["results.json", "results.md", *(f"{name}/eval_results.json" for name in folder_names),
             *(f"{folder}/{name}" for folder in results_of
               for name in sharded.written_files(ranks.world, outputs=(CONFUSION,)))]
    with _writer(out, {"command": "evaluate", "results": results_of}, files, overwrite, inputs, ranks):
        reader = Judge(judge, judge_model, api_key, device=ranks.device(device)) if judge else None
        entries, described = [], []
        for model, resolved, value, folder_name in zip(models, checked, names, folder_names):
            if _is_loaded(model):
                runner = runner_for(*model, mode, decoding, max_new_tokens, label_map)
            else:
                runner = load_runner(model, resolved, mode, decoding, max_new_tokens, label_map, ranks.device(device),
                                     dtype, cache_dir, model_options)
            model = {"model": value, "path": runner.model.name_or_path, "revision": model_revision(runner.model),
                     "settings": runner.settings}
            described.append(model)
            for evalset in sets:
                run = {**model, "model_name": folder_name, "setting": _setting(runner, decoding, reader),
                       "dataset": evalset.source, "name": evalset.name, "config": evalset.config,
                       "split": evalset.split, "label_column": label_column, "label_map": label_map,
                       "judge": reader.identity if reader else None, "answer_language": answer_language}
                folder = out / folder_name / _dataset_folder(evalset)
                entries.append(_evaluate_one(runner, evalset, folder, run, reader, ranks, batch_size, overwrite,
                                             progress, answer_language))
        results = None
        if ranks.rank == 0:
            settings = {"mode": mode, "decoding": decoding, "max_new_tokens": max_new_tokens,
                        "batch_size": batch_size, "split": split, "label_column": label_column,
                        "judge": reader.identity if reader else None, "processes": ranks.world, "device": device,
                        "answer_language": answer_language, "model_options": model_options}
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


def _evaluate_one(runner, evalset, folder: Path, run: dict, reader, ranks: Ranks, batch_size, overwrite: bool,
                  progress: bool, answer_language: str | None) -> dict | None:
    done = sharded.start(folder, run, overwrite, ranks, outputs=(CONFUSION,))
    if batch_size == "auto":
        batch_size = ranks.smallest(runner.auto_batch_size(max(evalset.durations, default=0.0)))
    mine = sharded.my_batches(evalset.batches(batch_size, padding_budget(runner.model.device)), evalset.ids, done,
                              ranks)
    started = time.monotonic()
    sharded.run_share(folder, mine, lambda batch: _score_batch(runner, evalset, batch, reader, answer_language), done,
                      ranks, total=sum(evalset.ids[i] not in done for batch in mine for i in batch),
                      desc=f"{run['model_name']} · {evalset.name}", progress=progress, name=evalset.name)
    records = sharded.finish(folder, ranks)
    if records is None:
        return None
    entry = _entry(run, records, wall=time.monotonic() - started, scored_now=len(records) - len(done))
    entry["excluded"] = dict(evalset.excluded)
    if "error" not in entry:
        plot_confusion(entry["metrics"], folder / CONFUSION, f"{run['model_name']} · {evalset.name} · {run['setting']}")
    return entry


def _score_batch(runner, evalset, batch: list[int], reader, answer_language: str | None) -> list[dict]:
    def run(waveforms, rate, clips):
        languages = [language_of(clip.language) for clip in clips] if answer_language == "dataset" else None
        return runner(waveforms, rate, languages or answer_language)

    records = []
    for index, result in zip(batch, run_decoded(evalset.clips(batch), run)):
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


def _writer(out: Path, run: dict, files: list[str], overwrite: bool, inputs: list, ranks):
    """Rank 0 holds `out` as a results folder (`output_folder.results_folder`) for the whole run; the other ranks
    write only their own rank files inside it, while rank 0 holds it."""
    if ranks.rank != 0:
        return contextlib.nullcontext(out)
    return results_folder(out, run, files, overwrite, inputs)


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
    """"<dataset>-<config>-<split>", each part a plain name (`safe_name`): none of them can lead out of `out`."""
    parts = (short_name(evalset.source).replace("/", "--"), evalset.config, evalset.split)
    return "-".join(safe_name(part, "dataset name") for part in parts if part)


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
