"""`build-cot`: a labelled speech dataset in, the same dataset out with measured acoustics, their levels, and the
explicit and implicit chain-of-thought targets (paper §III-C, §III-D).

Work happens in fixed-size shards kept in `OUT.work/`, each written whole under its final name only when complete,
so an interrupted build resumes where it stopped and recomputes nothing that was finished. The output folder appears
only when everything is done: parquet in `data/{split}-*.parquet` with a dataset card, so `load_dataset(OUT)` loads it.
`datasets.map(num_proc=…)` caches per process chunk, which would tie resumption to the process count; shards of a
fixed size make the result independent of --num-proc.
"""

import json
import multiprocessing
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..dataset_io import decode_audio, lazy_audio, open_dataset
from ..output_folder import atomic_output_dir, check_output_dir
from ..processing.audio_input import AudioInputError
from ..processing.emotion_parsing import EMOTIONS, normalize_emotion
from .acoustics import ATTRIBUTES, AcousticMeter, Acoustics
from .descriptions import check_description, description_prompt, implicit_target, template_description
from .levels import CorpusStats
from .phonemes import LANGUAGES, detect_language

REQUIRED_COLUMNS = ("audio", "text", "emotion")
MEASURED_COLUMNS = ATTRIBUTES + ("speech_duration_s",)
LEVEL_COLUMNS = {"pitch_hz": "pitch_level", "loudness_lufs": "loudness_level", "speaking_rate": "speaking_rate_level"}
ADDED_COLUMNS = MEASURED_COLUMNS + ("unmeasured",) + tuple(LEVEL_COLUMNS.values()) + (
    "target_language", "explicit_target", "implicit_target", "description_source", "description_problems"
)
OUTCOMES = ("llm", "llm_retry", "template")
UNANSWERED = "no LLM answer: "  # starts the problems of a row whose LLM request failed (endpoint errors)
_LANGUAGE_NAMES = {"english": "en", "chinese": "zh", "mandarin": "zh", "cmn": "zh"}
PARQUET_ROWS_PER_FILE = 5000


class BuildError(ValueError):
    """The input dataset or the work folder cannot be used; the message names the split, row or file."""


@dataclass
class BuildReport:
    rows: dict = field(default_factory=dict)
    measured: Counter = field(default_factory=Counter)
    unmeasured: Counter = field(default_factory=Counter)
    levels: dict = field(default_factory=dict)
    descriptions: Counter = field(default_factory=Counter)
    unanswered: int = 0  # template rows whose LLM request failed (timeouts, HTTP errors, malformed answers)
    shards_computed: int = 0
    shards_reused: int = 0

    def as_dict(self) -> dict:
        return {
            "rows": self.rows, "measured": dict(self.measured), "unmeasured": dict(self.unmeasured),
            "levels": self.levels, "descriptions": {k: self.descriptions.get(k, 0) for k in OUTCOMES},
            "unanswered": self.unanswered, "shards_computed": self.shards_computed, "shards_reused": self.shards_reused,
        }


def _language(value, text: str) -> str | None:
    """"en" or "zh" from a language column's value (detected from the text when empty); None when unsupported."""
    if value is None or value == "":
        return detect_language(text or "")
    code = str(value).strip().lower().replace("_", "-")
    code = _LANGUAGE_NAMES.get(code, code.split("-")[0])
    return code if code in LANGUAGES else None


def _row_name(dataset, split, index):
    # Only the `id` column is read: a whole row would decode its audio.
    has_id = "id" in dataset.column_names
    return f"split {split!r} row {index}" + (f" (id {dataset.select_columns('id')[index]['id']!r})" if has_id else "")


def _labels(data) -> dict[str, tuple[list, list]]:
    """Canonical emotions and target languages of every row, checked before any work starts."""
    import datasets

    labels = {}
    for split, dataset in data.items():
        present = set(dataset.column_names)
        missing = [c for c in REQUIRED_COLUMNS if c not in present]
        if missing:
            raise BuildError(f"split {split!r} lacks column(s) {', '.join(missing)}; it has {', '.join(sorted(present))}")
        clash = [c for c in ADDED_COLUMNS if c in present]
        if clash:
            raise BuildError(f"split {split!r} already has column(s) {', '.join(clash)} that build-cot writes")
        if not isinstance(dataset.features["audio"], datasets.Audio):
            raise BuildError(f"split {split!r}: column 'audio' is {dataset.features['audio']}, not an Audio feature")
        feature = dataset.features["emotion"]
        raw = dataset["emotion"]
        names = feature.int2str(raw) if isinstance(feature, datasets.ClassLabel) else raw
        texts = dataset["text"]
        given = dataset["language"] if "language" in present else [None] * len(dataset)
        emotions, languages = [], []
        for index, (name, text, language) in enumerate(zip(names, texts, given)):
            emotion = normalize_emotion(name) if isinstance(name, str) else None
            if emotion is None:
                raise BuildError(f"{_row_name(dataset, split, index)}: emotion {name!r} is not one of {EMOTIONS}")
            if text is not None and not isinstance(text, str):
                raise BuildError(f"{_row_name(dataset, split, index)}: text {text!r} is not a string")
            code = _language(language, text)
            if code is None:
                raise BuildError(f"{_row_name(dataset, split, index)}: language {language!r} is not supported "
                                 f"(supported: {', '.join(LANGUAGES)})")
            emotions.append(emotion)
            languages.append(code)
        labels[split] = (emotions, languages)
    return labels


class _Job:
    """One build's inputs, shared with worker processes by fork."""

    def __init__(self, data, labels: dict, work: Path, shard_size: int, pitch: str, pitch_options: dict):
        self.data, self.labels, self.work, self.shard_size = data, labels, work, shard_size
        self.pitch, self.pitch_options = pitch, pitch_options
        self.meter = None

    def shards(self, split):
        n = len(self.data[split])
        return [(i, start, min(start + self.shard_size, n)) for i, start in enumerate(range(0, n, self.shard_size))]

    def path(self, stage, split, index) -> Path:
        return self.work / stage / f"{split}-{index:05d}.parquet"


# The running build, for forked workers: set by build_cot, read by _measure_shard.
_JOB: _Job | None = None


def _write_table(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


def _one_thread() -> None:
    # One BLAS/torch thread per worker: the processes are the parallelism.
    import torch

    torch.set_num_threads(1)


def _measure_shard(task) -> int:
    import datasets

    split, index, start, stop = task
    job = _JOB
    if job.meter is None:
        job.meter = AcousticMeter(job.pitch, **job.pitch_options)
    rows, audio = lazy_audio(job.data[split].select(range(start, stop)).cast_column(
        "audio", datasets.Audio(sampling_rate=16000)))
    waveforms, failed = [], {}
    for offset in range(stop - start):
        name = f"split {split!r} row {start + offset}"
        try:
            waveforms.append(decode_audio(rows[offset]["audio"], name, audio))
        except AudioInputError as error:
            failed[offset] = f"audio could not be decoded: {error}"
            waveforms.append(np.zeros(0, dtype=np.float32))
    texts = rows["text"]
    languages = job.labels[split][1][start:stop]
    results = job.meter(waveforms, [t if i not in failed else None for i, t in enumerate(texts)], languages)
    for offset, reason in failed.items():
        results[offset] = Acoustics(reasons={name: reason for name in MEASURED_COLUMNS})
    columns = {name: pa.array([getattr(r, name) for r in results], pa.float64()) for name in MEASURED_COLUMNS}
    columns["unmeasured"] = pa.array([json.dumps(r.reasons, ensure_ascii=False) if r.reasons else "" for r in results])
    _write_table(pa.table(columns), job.path("acoustics", split, index))
    return stop - start


def _run_acoustics(job: _Job, num_proc: int, report: BuildReport, progress: bool) -> None:
    from tqdm.auto import tqdm

    tasks = []
    for split in job.data:
        for index, start, stop in job.shards(split):
            if job.path("acoustics", split, index).is_file():
                report.shards_reused += 1
            else:
                tasks.append((split, index, start, stop))
    if not tasks:
        return
    bar = tqdm(total=sum(stop - start for _, _, start, stop in tasks), unit="utt", desc="acoustics",
               disable=not progress)
    if num_proc > 1:
        # fork: workers inherit the job (datasets memory-maps its tables), as `datasets.map(num_proc)` does.
        with multiprocessing.get_context("fork").Pool(num_proc, initializer=_one_thread) as pool:
            for done in pool.imap_unordered(_measure_shard, tasks):
                bar.update(done)
                report.shards_computed += 1
    else:
        for task in tasks:
            bar.update(_measure_shard(task))
            report.shards_computed += 1
    bar.close()


def _stage_table(job: _Job, stage: str, split: str) -> pa.Table:
    """A split's results of one stage, its shards in order."""
    return pa.concat_tables([pq.read_table(job.path(stage, split, i)) for i, _, _ in job.shards(split)])


def _corpus_stats(job: _Job, splits: list[str]) -> CorpusStats:
    table = pa.concat_tables([_stage_table(job, "acoustics", split) for split in splits])
    return CorpusStats.from_values({name: table[name].to_pylist() for name in ATTRIBUTES})


def _describe_shard(job, split, index, start, stop, stats, describer, retries, seed) -> None:
    acoustics = pq.read_table(job.path("acoustics", split, index), columns=list(ATTRIBUTES)).to_pylist()
    texts = [t or "" for t in job.data[split].select(range(start, stop))["text"]]
    emotions, languages = (values[start:stop] for values in job.labels[split])
    levels = [stats.levels(row) for row in acoustics]
    targets = [template_description(lv, t, e, lang) for lv, t, e, lang in zip(levels, texts, emotions, languages)]
    sources = ["template"] * len(texts)
    problems = [""] * len(texts)
    if describer is not None:
        prompts = [description_prompt(lv, t, e, lang) for lv, t, e, lang in zip(levels, texts, emotions, languages)]
        pending = list(range(len(texts)))
        for attempt in range(retries + 1):
            if not pending:
                break
            outputs = describer([prompts[i] for i in pending], attempt, seed + 1000 * index + 100 * attempt)
            still = []
            for i, output in zip(pending, outputs):
                if isinstance(output, Exception):  # the describer has retried the request already
                    problems[i] = UNANSWERED + str(output)
                    continue
                found = check_description(output, levels[i], texts[i], emotions[i], languages[i])
                if found:
                    problems[i] = "; ".join(found)
                    still.append(i)
                else:
                    targets[i], sources[i], problems[i] = output, "llm" if attempt == 0 else "llm_retry", ""
            pending = still
    table = pa.table({
        **{column: pa.array([lv[a] for lv in levels], pa.string()) for a, column in LEVEL_COLUMNS.items()},
        "target_language": pa.array(languages, pa.string()),
        "explicit_target": pa.array(targets, pa.string()),
        "implicit_target": pa.array([implicit_target(e, lang) for e, lang in zip(emotions, languages)], pa.string()),
        "description_source": pa.array(sources, pa.string()),
        "description_problems": pa.array(problems, pa.string()),
    })
    _write_table(table, job.path("descriptions", split, index))


def _run_descriptions(job, stats, describer, retries, seed, report, progress) -> None:
    from tqdm.auto import tqdm

    todo = [(split, *shard) for split in job.data for shard in job.shards(split)
            if not job.path("descriptions", split, shard[0]).is_file()]
    report.shards_reused += sum(len(job.shards(split)) for split in job.data) - len(todo)
    # closed before an error propagates, so that the error is the last line the user sees
    with tqdm(total=sum(stop - start for _, _, start, stop in todo), unit="utt", desc="descriptions",
              disable=not progress or not todo) as bar:
        for split, index, start, stop in todo:
            _describe_shard(job, split, index, start, stop, stats, describer, retries, seed)
            report.shards_computed += 1
            bar.update(stop - start)


def _claim_work_folder(work: Path, job_description: dict) -> None:
    record = work / "job.json"
    if record.is_file():
        previous = json.loads(record.read_text(encoding="utf-8"))
        if previous != job_description:
            differs = sorted(k for k in set(previous) | set(job_description) if previous.get(k) != job_description.get(k))
            raise BuildError(
                f"{work} holds an interrupted build of a different job (it differs in {', '.join(differs)}); "
                "delete that folder to start over"
            )
        return
    work.mkdir(parents=True, exist_ok=True)
    temporary = record.with_name("job.json.tmp")
    temporary.write_text(json.dumps(job_description, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, record)


def _write_output(data, results: dict, out: Path, stats: CorpusStats, report: BuildReport, overwrite: bool,
                  inputs: list) -> None:
    import datasets
    from datasets.table import embed_table_storage

    with atomic_output_dir(out, overwrite=overwrite, inputs=inputs) as staging:
        for split, dataset in data.items():
            acoustics, descriptions = results[split]
            combined = datasets.concatenate_datasets(
                [dataset, datasets.Dataset(acoustics), datasets.Dataset(descriptions)], axis=1
            )
            # Audio given as paths is embedded as bytes, as push_to_hub does, so the folder stands alone.
            combined = combined.with_format("arrow").map(embed_table_storage, batched=True, desc=f"embed {split}")
            combined = combined.with_format(None)
            files = max(1, -(-len(combined) // PARQUET_ROWS_PER_FILE))
            for k in range(files):
                part = combined.shard(files, k, contiguous=True)
                part.to_parquet(str(staging / "data" / f"{split}-{k:05d}-of-{files:05d}.parquet"))
        stats.save(staging / "stats.json")
        (staging / "build_report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(_card(report, stats), encoding="utf-8")


def _card(report: BuildReport, stats: CorpusStats) -> str:
    # No `configs:` in the YAML: with one, datasets 5.2 keys its cache by the file patterns alone, so loading a
    # rebuilt folder (or another folder of the same name) returns the old rows. The data/{split}-*.parquet layout
    # is found without it.
    outcomes = report.as_dict()["descriptions"]
    lines = [
        "---", "task_categories:", "- audio-classification", "tags:", "- speech-emotion-recognition",
        "- chain-of-thought", "---", "",
        "# Chain-of-thought targets for C²SER", "",
        "Built by `c2ser-hf build-cot`: measured pitch (mean F0 of voiced frames, Hz), integrated loudness (LUFS, "
        "ITU-R BS.1770) and speaking rate (phonemes per second after trimming edge silence); their levels against "
        "the corpus mean μ and standard deviation σ (Low < μ−σ ≤ Medium ≤ μ+σ < High, `stats.json`); the explicit "
        "description (`explicit_target`) and the implicit answer (`implicit_target`).", "",
        "| split | rows |", "|---|---|", *[f"| {split} | {n} |" for split, n in report.rows.items()], "",
        "| attribute | μ | σ | measured |", "|---|---|---|---|",
        *[f"| {name} | {s.mean:.3f} | {s.std:.3f} | {s.count} |" for name, s in stats.attributes.items()], "",
        "Descriptions: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()) + " (`description_source`); "
        f"the LLM gave no answer for {report.unanswered} of the template rows (`description_problems`).", "",
    ]
    return "\n".join(lines)


def _check_transcripts(data, stats_split: str | None) -> None:
    """Before any clip is measured: the levels' statistics need speaking rates, which need transcripts."""
    chosen = stats_split or ("train" if "train" in data else None)
    splits = [split for split in ([chosen] if chosen else list(data)) if split in data]
    if splits and not any(isinstance(t, str) and t.strip() for split in splits for t in data[split]["text"]):
        raise BuildError(f"split {', '.join(splits)}: no row has a transcript ('text'), so no speaking rate can be "
                         "measured and the levels' statistics cannot be computed; give the stats of a corpus with "
                         "transcripts (--stats FILE, stats= in Python)")


def build_cot(
    source, out, *, stats=None, describer=None, pitch: str = "praat", pitch_options: dict | None = None,
    num_proc: int = 1, shard_size: int = 256, retries: int = 2, seed: int = 0, split: str | None = None,
    config: str | None = None, stats_split: str | None = None, overwrite: bool = False, progress: bool = True,
) -> BuildReport:
    """Measure, discretise and describe every row of `source` (a dataset, a folder or a Hub id: `dataset_io.open_dataset`) into the dataset folder `out`.

    stats: a `CorpusStats` or the path of a saved one (describe new data against a training corpus); None computes
        them from `stats_split` (default "train" when present, else every split) and saves them as `out/stats.json`.
    describer: a callable `(prompts, attempt, seed) -> texts` (`TransformersDescriber`, `EndpointDescriber`), or None
        for template descriptions only. A description failing `check_description` is retried `retries` times, then
        replaced by the template. An exception in place of a text (a request that failed) keeps the template at once,
        its message recorded in `description_problems` and counted in the report's `unanswered`.
    """
    global _JOB
    out = Path(out)
    inputs = [path for path in (source, stats) if isinstance(path, (str, os.PathLike))]
    check_output_dir(out, overwrite, inputs)
    data = open_dataset(source, config, split)
    labels = _labels(data)
    if isinstance(stats, (str, os.PathLike)):
        stats = CorpusStats.load(stats)
    if stats is None:
        _check_transcripts(data, stats_split)
    work = out.with_name(out.name + ".work")
    job_description = {
        "input": {s: {"fingerprint": d._fingerprint, "rows": len(d)} for s, d in data.items()},
        "shard_size": shard_size, "pitch": {"name": pitch, **(pitch_options or {})},
        "stats": stats.to_dict() if stats is not None else f"computed from {stats_split or 'train/all'}",
        "describer": getattr(describer, "identity", None if describer is None else repr(describer)),
        "retries": retries, "seed": seed,
    }
    _claim_work_folder(work, job_description)
    report = BuildReport(rows={s: len(d) for s, d in data.items()})
    _JOB = _Job(data, labels, work, shard_size, pitch, pitch_options or {})
    try:
        _run_acoustics(_JOB, num_proc, report, progress)
        if stats is None:
            chosen = stats_split or ("train" if "train" in data else None)
            stats = _corpus_stats(_JOB, [chosen] if chosen else list(data))
        _run_descriptions(_JOB, stats, describer, retries, seed, report, progress)
        results = {s: (_stage_table(_JOB, "acoustics", s), _stage_table(_JOB, "descriptions", s)) for s in data}
        _summarise(results, report)
        _write_output(data, results, out, stats, report, overwrite, inputs)
    finally:
        _JOB = None
    shutil.rmtree(work)
    return report


def _summarise(results: dict, report: BuildReport) -> None:
    report.levels = {column: Counter() for column in LEVEL_COLUMNS.values()}
    for acoustics, descriptions in results.values():
        for name in MEASURED_COLUMNS:
            report.measured[name] += len(acoustics) - acoustics[name].null_count
        for notes in acoustics["unmeasured"].to_pylist():
            for name, reason in (json.loads(notes) if notes else {}).items():
                report.unmeasured[f"{name}: {reason.split(':')[0]}"] += 1
        report.descriptions.update(descriptions["description_source"].to_pylist())
        report.unanswered += sum(p.startswith(UNANSWERED) for p in descriptions["description_problems"].to_pylist())
        for column in LEVEL_COLUMNS.values():
            report.levels[column].update(str(v) for v in descriptions[column].to_pylist())
    report.levels = {column: dict(counts) for column, counts in report.levels.items()}
