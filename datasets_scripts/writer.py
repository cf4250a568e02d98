"""Turn a builder's rows into a Hub-ready folder: parquet with embedded 16 kHz audio, README YAML `configs:`, card.

The folder loads with `datasets.load_dataset(folder)` (or, pushed, `load_dataset(repo_id)`), one config per entry
of `CorpusRows.configs`. Each part is written once and listed by every config/split that uses it.
"""

import io
import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from datasets import Audio, Dataset, DatasetInfo, Features, SplitDict, SplitInfo, Value
from datasets.info import DatasetInfosDict
from torchcodec.decoders import AudioDecoder

from .dataset_card import dataset_card
from .schema import FEATURES, SAMPLING_RATE, BadRowError, CorpusLayoutError, CorpusRows, Utterance

# Parquet files of about this many bytes of 16-bit audio or less; the Hub and `datasets` stream them comfortably.
MAX_SHARD_BYTES = 500_000_000

_ROW_FEATURES = Features(
    {
        **{name: FEATURES[name] for name in FEATURES if name not in ("audio", "duration")},
        "audio": Value("string"),
        "part": Value("string"),
        "source": Value("string"),
    }
)
_DECODED_FEATURES = Features({**_ROW_FEATURES, "audio": Audio(sampling_rate=SAMPLING_RATE),
                              "duration": Value("float32"), "problem": Value("string")})


@dataclass
class PrepareReport:
    corpus: str
    layout: str
    out_dir: Path
    rows: dict[str, dict[str, int]]  # config -> split -> rows written
    excluded: Counter  # raw label -> rows without a canonical class
    too_long: int  # rows dropped by the duration filter
    max_seconds: float | None
    skipped: list[str] = field(default_factory=list)  # bad rows skipped under skip_bad, each naming its source

    def summary(self) -> list[str]:
        lines = [f"{self.corpus} ({self.layout}) -> {self.out_dir}"]
        for config, splits in self.rows.items():
            lines.append(f"  {config}: " + ", ".join(f"{split} {n}" for split, n in splits.items()))
        if self.excluded:
            lines.append("  excluded (no canonical emotion): "
                         + ", ".join(f"{label} {n}" for label, n in sorted(self.excluded.items())))
        if self.max_seconds:
            lines.append(f"  dropped {self.too_long} longer than {self.max_seconds:g} s")
        lines += [f"  skipped: {reason}" for reason in self.skipped]
        return lines


def select_configs(configs: dict, names: list[str] | None) -> dict:
    if not names:
        return configs
    unknown = [name for name in names if name not in configs]
    if unknown:
        raise ValueError(f"unknown config(s) {unknown}; this corpus has {list(configs)}")
    return {name: configs[name] for name in names}


def _check_rows(utterances: list[Utterance], label_map: dict, skip_bad: bool, skipped: list[str]):
    """The rows that can be written, the raw labels excluded; bad rows raise (or are skipped under skip_bad)."""
    kept, excluded, seen = [], Counter(), {}
    for utterance in utterances:
        if utterance.label not in label_map:
            problem = f"label {utterance.label!r} is not in the label map (known: {sorted(label_map)})"
        elif utterance.id in seen:
            problem = f"duplicate id {utterance.id!r} (first at {seen[utterance.id]})"
        elif not utterance.audio.is_file():
            problem = f"audio file {utterance.audio} does not exist"
        else:
            seen[utterance.id] = utterance.source
            if label_map[utterance.label] is None:
                excluded[utterance.label] += 1
            else:
                kept.append(utterance)
            continue
        _bad(f"{utterance.source}: {problem}", skip_bad, skipped)
    return kept, excluded


def _bad(message: str, skip_bad: bool, skipped: list[str]) -> None:
    if not skip_bad:
        raise BadRowError(message)
    skipped.append(message)


def _rows(utterances, label_map, corpus):
    for u in utterances:
        yield {"audio": str(u.audio), "emotion": label_map[u.label], "original_label": u.label, "text": u.text,
               "language": u.language, "speaker": u.speaker, "corpus": corpus, "id": u.id, "part": u.part,
               "source": u.source}


def _decode(row: dict) -> dict:
    """16 kHz mono through FFmpeg (torchcodec, the decoder `datasets` uses), stored as 16-bit FLAC."""
    try:
        samples = AudioDecoder(row["audio"], sample_rate=SAMPLING_RATE, num_channels=1).get_all_samples()
        waveform = samples.data[0].numpy()
        if waveform.size == 0:
            raise ValueError("no samples")
        buffer = io.BytesIO()
        sf.write(buffer, np.clip(waveform, -1.0, 1.0), SAMPLING_RATE, format="FLAC", subtype="PCM_16")
    except Exception as error:
        # FFmpeg errors come after a C++ source location and repeat the path, which the message already names.
        detail = re.sub(r"^.*\.cpp:\d+,\s*", "", " ".join(str(error).split())).replace(row["audio"], "").strip()[-200:]
        return {"audio": None, "duration": 0.0,
                "problem": f"audio file {row['audio']} could not be decoded ({type(error).__name__}: {detail})"}
    return {"audio": {"bytes": buffer.getvalue(), "path": f"{row['id']}.flac"},
            "duration": waveform.size / SAMPLING_RATE, "problem": ""}


def write_dataset(
    rows: CorpusRows,
    folder,
    *,
    configs: list[str] | None = None,
    num_proc: int = 1,
    skip_bad: bool = False,
    max_seconds: float | None = 20.0,
) -> PrepareReport:
    """Decode, filter and write `rows` as a dataset into the empty `folder` (the caller makes it appear at its final
    name only when this returns, as `c2ser_hf.prepare_data` does)."""
    chosen = select_configs(rows.configs, configs)
    parts = {part for splits in chosen.values() for names in splits.values() for part in names}
    skipped = []
    utterances, excluded = _check_rows([u for u in rows.utterances if u.part in parts], rows.label_map, skip_bad,
                                       skipped)
    if not utterances:
        raise CorpusLayoutError(f"{rows.corpus}: no utterance with a canonical emotion was found in the source")
    root = Path(folder)
    dataset = Dataset.from_generator(
        _rows, gen_kwargs={"utterances": utterances, "label_map": rows.label_map, "corpus": rows.corpus},
        features=_ROW_FEATURES, cache_dir=str(root / ".cache"),
    )
    dataset = dataset.map(_decode, features=_DECODED_FEATURES, num_proc=num_proc if num_proc > 1 else None,
                          desc=f"Decoding {rows.corpus} audio to 16 kHz")
    checks = dataset.select_columns(["source", "problem", "duration", "part", "emotion", "language"]).to_pandas()
    for source, problem in checks.loc[checks.problem != "", ["source", "problem"]].itertuples(index=False):
        _bad(f"{source}: {problem}", skip_bad, skipped)
    too_long = (checks.duration > max_seconds) if max_seconds else checks.duration < 0
    keep = (checks.problem == "") & ~too_long
    statistics = checks[keep]
    written, files = {}, {}
    for part in sorted(statistics.part.unique()):
        indices = statistics.index[statistics.part == part]
        files[part] = _write_part(dataset.select(list(indices)).select_columns(list(FEATURES)).cast(FEATURES),
                                  statistics.duration[indices].sum(), root, part)
        written[part] = statistics.loc[indices]
    counts = {config: {split: sum(len(written.get(part, ())) for part in names) for split, names in splits.items()}
              for config, splits in chosen.items()}
    report = PrepareReport(rows.corpus, rows.layout, root, counts, excluded, int(too_long.sum()), max_seconds,
                           skipped)
    yaml_header = {"configs": _configs_yaml(chosen, files),
                   "dataset_info": _dataset_info_yaml(chosen, files, counts, root),
                   "task_categories": ["audio-classification"], "pretty_name": rows.corpus}
    languages = sorted({language for language in statistics.language if language})
    if languages:
        yaml_header["language"] = languages
    card = dataset_card(rows, report, chosen, written)
    (root / "README.md").write_text(
        "---\n" + yaml.safe_dump(yaml_header, sort_keys=False, allow_unicode=True) + "---\n\n" + card,
        encoding="utf-8",
    )
    del dataset
    shutil.rmtree(root / ".cache")
    root.chmod(0o755)  # a temporary folder is private to its owner; a dataset is meant to be shared
    return report


def _write_part(part: Dataset, seconds: float, root: Path, name: str) -> list[str]:
    """Write one part as parquet shards under root/data; return their paths relative to root."""
    shards = max(1, math.ceil(seconds * SAMPLING_RATE * 2 / MAX_SHARD_BYTES))
    (root / "data").mkdir(exist_ok=True)
    paths = [f"data/{name}-{index:05d}-of-{shards:05d}.parquet" for index in range(shards)]
    for index, path in enumerate(paths):
        part.shard(shards, index, contiguous=True).to_parquet(str(root / path))
    return paths


def _configs_yaml(chosen: dict, files: dict) -> list[dict]:
    # Exact file names, not globs: a glob for part "train" would also match part "train-2".
    entries = []
    for number, (config, splits) in enumerate(chosen.items()):
        data_files = [{"split": split, "path": [path for part in names for path in files.get(part, ())]}
                      for split, names in splits.items()]
        entry = {"config_name": config, "data_files": [f for f in data_files if f["path"]]}
        if number == 0:
            entry["default"] = True
        entries.append(entry)
    return entries


def _dataset_info_yaml(chosen: dict, files: dict, counts: dict, root: Path):
    """Features and split sizes per config, as `push_to_hub` writes them. Besides documenting the folder, they make
    `load_dataset`'s cache key depend on the content: without them two folders with the same name and the same
    configs share one cache entry, and the second loads the first one's rows."""
    infos = {}
    for config, splits in chosen.items():
        sizes = {split: sum((root / path).stat().st_size for part in names for path in files.get(part, ()))
                 for split, names in splits.items()}
        split_dict = SplitDict()
        for split in splits:
            if counts[config][split]:
                split_dict.add(SplitInfo(name=split, num_bytes=sizes[split], num_examples=counts[config][split]))
        infos[config] = DatasetInfo(features=FEATURES, splits=split_dict, download_size=sum(sizes.values()),
                                    dataset_size=sum(sizes.values()))
    card_data = {}
    DatasetInfosDict(infos).to_dataset_card_data(card_data)
    return card_data["dataset_info"]
