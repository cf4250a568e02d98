"""`evaluate_stability`: how often a model's emotion flips when nothing emotional changed, on labelled datasets.

Every clip is asked again under each variant (variants.py) and each (clip, variant) is one record of the harness's
resumable, data-parallel pass (`c2ser_hf/corpus/sharded.py`, as `evaluate_model` uses it): its id is
"<clip id>|<variant>", a work unit is one of the dataset's batches under every variant (decoded once), so a killed
run resumes without scoring a (clip, variant) twice and N processes give what one gives. Each (model, dataset,
mode) gets `OUT/<model>/<dataset>-stability-<mode>/` with run.json, predictions.jsonl and stability.png; `OUT`
gets a "stability" section in results.json, stability.md, and rows in each model's eval_results.json. `OUT` is held
as `evaluate_model` holds its folder (`output_folder.results_folder`: one run at a time, the user's files kept).
"""

import os
import time
from pathlib import Path

from ...batch_sizes import padding_budget
from ...corpus import sharded
from ...corpus.dataset_input import decode_clips, language_of
from ...corpus.ranks import Ranks
from ...output_folder import check_results_folder, safe_name
from .. import harness
from ..data import load_eval_set
from ..models import check_model, load_runner, model_revision, read_label_map, runner_for
from .metrics import records_table, stability_metrics
from .report import CARD, RESULTS, TABLE, plot_stability, write_stability_outputs
from . import DEFAULT_FAMILIES
from .variants import apply_condition, load_paraphrases, prompt_for, seed_of, variants_for

PLOT = "stability.png"


def evaluate_stability(
    models,
    datasets,
    out="stability",
    *,
    families=DEFAULT_FAMILIES,
    modes=("scores",),
    samples: int = 4,
    temperature: float = 0.7,
    paraphrases=None,
    configs=None,
    split: str = "test",
    decoding: str = "official",
    max_new_tokens: int | None = None,
    label_column: str = "emotion",
    label_map=None,
    batch_size: int | str = 8,
    device: str = "cpu",
    dtype="float32",
    cache_dir=None,
    overwrite: bool = False,
    progress: bool = True,
    answer_language: str | None = None,
    model_options: dict | None = None,
) -> dict:
    """Score each model on each dataset as `evaluate_model` does (same model, dataset and option values), in each of
    `modes` ("scores", "implicit", "explicit"; a classifier runs once), under the clean variant and every variant of
    `families` ("prompts", "conditions", "decoding"). `samples` answers are sampled at `temperature` for "decoding";
    `paraphrases` is a JSON file that extends the shipped paraphrases (or replaces them: `"replace": true`).
    Returns the "stability" section written to `out/results.json`."""
    ranks = Ranks()
    out, started = Path(out), time.monotonic()
    families = tuple(dict.fromkeys(families))
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0, got {temperature!r}")
    if answer_language not in harness.ANSWER_LANGUAGES:
        raise ValueError(f"answer_language must be one of {harness.ANSWER_LANGUAGES}, got {answer_language!r}")
    variants_for(families, "implicit", {}, samples)  # unknown families are refused before anything loads
    paraphrases = load_paraphrases(paraphrases)
    label_map = label_map if isinstance(label_map, dict) else read_label_map(label_map)
    models = [model if harness._is_loaded(model) else os.fspath(model) for model in harness._as_list(models)]
    checked = [None if harness._is_loaded(model) else check_model(model, cache_dir) for model in models]
    wanted = []
    for value in harness._as_list(datasets):
        source, named = harness._source_and_config(value)
        wanted += [(source, config) for config in ([named] if named else harness._as_list(configs) or [None])]
    for _, config in wanted:
        if config is not None:
            safe_name(config, "config")
    safe_name(split, "split")
    inputs = [source for source, _ in wanted] + [m for m in models if not harness._is_loaded(m)]
    check_results_folder(out, inputs)  # before any data is read
    sets = ranks.rank0_first(lambda: [load_eval_set(d, c, split, label_column, label_map) for d, c in wanted])
    names = [model[0].name_or_path or "model" if harness._is_loaded(model) else model for model in models]
    folder_names = harness._folder_names(names)
    results_of = [f"{name}/{_stability_folder(evalset, setting)}" for model, resolved, name in zip(models, checked,
                  folder_names) for setting in _settings(model, resolved, modes, decoding) for evalset in sets]
    files = [RESULTS, TABLE, *(f"{name}/{CARD}" for name in folder_names),
             *(f"{folder}/{name}" for folder in results_of for name in sharded.written_files(ranks.world, (PLOT,)))]
    with harness._writer(out, {"command": "evaluate --stability", "results": results_of}, files, overwrite, inputs,
                         ranks):
        entries, described = [], []
        for model, resolved, value, folder_name in zip(models, checked, names, folder_names):
            runner = None
            for mode in modes:
                if runner is not None and runner.settings["kind"] != "c2ser":
                    break  # a classifier has no modes: it runs once
                if runner is not None:
                    runner = runner_for(runner.model, runner.processor, mode, decoding, max_new_tokens, label_map)
                elif harness._is_loaded(model):
                    runner = runner_for(*model, mode, decoding, max_new_tokens, label_map)
                else:
                    runner = load_runner(model, resolved, mode, decoding, max_new_tokens, label_map,
                                         ranks.device(device), dtype, cache_dir, model_options)
                setting = harness._setting(runner, decoding, None)
                classifier = runner.settings["kind"] != "c2ser"
                variants = variants_for(families, mode, paraphrases, samples, classifier)
                described.append({"model": value, "path": runner.model.name_or_path,
                                  "revision": model_revision(runner.model), "settings": runner.settings})
                for evalset in sets:
                    run = {"model": value, "model_name": folder_name, "setting": setting, "mode": mode,
                           "dataset": evalset.source, "name": evalset.name, "config": evalset.config,
                           "split": evalset.split, "label_column": label_column, "label_map": label_map,
                           "answer_language": answer_language, "settings": runner.settings,
                           "variants": [v.name for v in variants],
                           "paraphrases": paraphrases if "prompts" in families and not classifier else None,
                           "temperature": temperature if any(v.sample for v in variants) else None}
                    folder = out / folder_name / _stability_folder(evalset, setting)
                    entries.append(_stability_one(runner, evalset, variants, folder, run, ranks, batch_size, overwrite,
                                                  progress, answer_language, paraphrases, temperature))
        section = None
        if ranks.rank == 0:
            settings = {"families": list(families), "modes": list(modes), "samples": samples,
                        "temperature": temperature, "decoding": decoding, "max_new_tokens": max_new_tokens,
                        "batch_size": batch_size, "split": split, "processes": ranks.world, "device": device,
                        "answer_language": answer_language}
            section = {"models": described, "settings": settings, "versions": harness._versions(),
                       "wall_s": round(time.monotonic() - started, 3), "results": entries}
            write_stability_outputs(out, section)
        ranks.barrier()
    ranks.close()
    if section is None:
        import json

        section = json.loads((out / "results.json").read_text(encoding="utf-8"))["stability"]
    return section


def _stability_one(runner, evalset, variants, folder: Path, run: dict, ranks: Ranks, batch_size,
                   overwrite: bool, progress: bool, answer_language, paraphrases: dict, temperature: float):
    done = sharded.start(folder, run, overwrite, ranks, outputs=(PLOT,))
    if batch_size == "auto":
        batch_size = ranks.smallest(runner.auto_batch_size(max(evalset.durations, default=0.0)))
    count = len(variants)
    ids = [f"{clip}|{variant.name}" for clip in evalset.ids for variant in variants]
    plan = [[clip * count + k for clip in batch for k in range(count)]
            for batch in evalset.batches(batch_size, padding_budget(runner.model.device))]
    mine = sharded.my_batches(plan, ids, done, ranks)
    started = time.monotonic()

    def work(items):
        return _score_unit(runner, evalset, variants, sorted({i // count for i in items}), ids, done, answer_language,
                           run["mode"], paraphrases, temperature)

    sharded.run_share(folder, mine, work, done, ranks, total=sum(ids[i] not in done for unit in mine for i in unit),
                      desc=f"{run['model_name']} · {evalset.name} · stability", progress=progress, name=evalset.name)
    records = sharded.finish(folder, ranks)
    if records is None:
        return None
    families = {}
    for variant in variants[1:]:
        families.setdefault(variant.family, []).append(variant.name)
    table = records_table(records)
    failed = sorted({r["clip"] for r in records if "error" in r})
    entry = {"model": run["model"], "model_name": run["model_name"], "row": f"{run['model_name']} ({run['setting']})",
             "setting": run["setting"], "mode": run["mode"], "dataset": run["name"], "source": run["dataset"],
             "config": run["config"], "split": run["split"], "families": families,
             "clips": len(table) - len(failed), "failed": len(failed), "scored_now": len(records) - len(done),
             "wall_s": round(time.monotonic() - started, 3), "excluded": dict(evalset.excluded)}
    if len(failed) == len(table):
        entry["error"] = "no clip could be scored"
        return entry
    entry["stability"] = stability_metrics(table, families)
    plot_stability(entry, folder / PLOT)
    return entry


def _score_unit(runner, evalset, variants, clips: list[int], ids: list[str], done: set[str], answer_language,
                mode: str, paraphrases: dict, temperature: float) -> list[dict]:
    """The records of one batch of clips under every variant that still has a clip to do (a variant runs on the
    whole batch, so that its numbers never depend on which clips a killed run had finished)."""
    decoded, errors = decode_clips(evalset.clips(clips))
    records = []
    for k, variant in enumerate(variants):
        if all(ids[clip * len(variants) + k] in done for clip in clips):
            continue
        base = [{"id": ids[clip * len(variants) + k], "clip": evalset.ids[clip], "variant": variant.name,
                 "family": variant.family, "reference": evalset.references[clip],
                 "language": evalset.languages[clip]} for clip in clips]
        groups = {}  # one model call per (sampling rate, prompt): a batch's clips may differ in language
        for position in decoded:
            language = language_of(evalset.languages[clips[position]])
            key = (decoded[position][1], prompt_for(variant, mode, language, paraphrases))
            groups.setdefault(key, []).append(position)
        for position, message in errors.items():
            base[position]["error"] = message
        for (rate, prompt), positions in groups.items():
            waveforms = [apply_condition(variant, base[p]["clip"], decoded[p][0], rate) for p in positions]
            languages = answer_language
            if answer_language == "dataset":
                languages = [language_of(evalset.languages[clips[p]]) for p in positions]
            options = {}
            if prompt is not None:
                options["prompt"] = prompt
            if variant.sample:
                # the seed of the group's first clip and the variant: the same draw in any rerun or process count
                import torch

                torch.manual_seed(seed_of(base[positions[0]]["clip"], variant.name))
                options["generate_kwargs"] = {"decoding": "greedy", "do_sample": True, "temperature": temperature}
            for p, result in zip(positions, runner(waveforms, rate, languages, **options)):
                if "error" in result:
                    base[p]["error"] = result["error"]
                else:
                    base[p].update(prediction=result.get("prediction"), probabilities=result.get("probabilities"),
                                   text=result.get("text"))
        records += base
    return records


def _stability_folder(evalset, setting: str) -> str:
    """"<dataset folder>-stability-<setting>", "implicit, official" as "implicit-official"."""
    return f"{harness._dataset_folder(evalset)}-stability-{'-'.join(part.strip() for part in setting.split(','))}"


def _settings(model, resolved, modes, decoding: str) -> list[str]:
    """The settings (as `harness._setting` names them) a model runs under, known before it loads, for the folder's
    marker: a classifier runs once, C2SER once per mode."""
    model_type = model[0].config.model_type if harness._is_loaded(model) else \
        resolved.config["model_type"] if resolved is not None else "c2ser"
    if model_type != "c2ser":
        return ["classifier"]
    return list(dict.fromkeys("scores" if mode == "scores" else f"{mode}, {decoding}" for mode in modes))


__all__ = ["evaluate_stability"]
