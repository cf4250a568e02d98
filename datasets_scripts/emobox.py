"""EmoBox metadata as an input layout (the C2SER paper follows EmoBox's data allocation).

EmoBox describes each corpus in `data/<dataset>/`: `<dataset>.jsonl` (one row per utterance: key, dataset, wav,
sample_rate, length, emo, channel), `fold_<k>/<dataset>_<split>_fold_<k>.jsonl` (the same rows, per fold and split:
train, valid, test, ...) and `label_map.json` (raw label -> EmoBox category). `wav` paths are relative to the EmoBox
checkout (`downloads/<dataset>/...`), so audio is looked up under `audio_root`, by default the folder above `data/`.
"""

import json
import re
from pathlib import Path

from .label_maps import emobox_label_map
from .schema import CorpusLayoutError, CorpusRows, Utterance, parts_from_memberships, wav_problem
from .source_files import jsonl_rows, require

LAYOUT = ("EmoBox metadata: DIR = EmoBox data/<dataset>/ with <dataset>.jsonl, fold_<k>/<dataset>_<split>_fold_<k>.jsonl"
          " and label_map.json; audio under --audio-root (default: the folder above data/)")
_FOLD_FILE = re.compile(r"(?P<dataset>.+)_(?P<split>[a-z0-9]+)_fold_(?P<fold>\d+)\.jsonl")
_SPLIT_NAMES = {"valid": "validation", "dev": "validation"}


def is_emobox_layout(source: Path) -> bool:
    return ((source / "label_map.json").is_file() or (source / f"{source.name}.jsonl").is_file()
            or any(source.glob("fold_*/*.jsonl")))


def _fold_files(source: Path):
    for path in sorted(source.glob("fold_*/*.jsonl"), key=lambda p: (len(p.parent.name), p.parent.name, p.name)):
        match = _FOLD_FILE.fullmatch(path.name)
        if not match or f"fold_{match['fold']}" != path.parent.name:
            raise CorpusLayoutError(f"{path}: not named <dataset>_<split>_fold_<k>.jsonl inside fold_<k>/")
        yield path, f"fold_{match['fold']}", _SPLIT_NAMES.get(match["split"], match["split"])


def _row_fields(row: dict) -> tuple:
    # EmoBox's MER2023 fold files call the fields `audio` and `label` instead of `wav` and `emo`.
    return row.get("wav", row.get("audio")), row.get("emo", row.get("label"))


def read_emobox(source: Path, corpus: str, label_map: dict | None, language: str = "",
                audio_root: Path | None = None) -> CorpusRows:
    """Rows and fold configs of an EmoBox `data/<dataset>/` folder; `label_map` None uses its label_map.json."""
    if audio_root is None:
        audio_root = source.parent.parent if source.parent.name == "data" else source
    if label_map is None:
        path = require(source / "label_map.json", "EmoBox label map")
        try:
            label_map = emobox_label_map(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, AttributeError) as error:
            raise CorpusLayoutError(f"{path}: not a JSON object of label -> category ({error})") from error
    rows, memberships, repeated, bad_rows = {}, {}, [], []
    files = list(_fold_files(source))
    if files:
        listed = [(path, [(fold, split)]) for path, fold, split in files]
    else:
        listed = [(require(source / f"{source.name}.jsonl", "EmoBox metadata, or fold_<k>/ folders"),
                   [("default", "train")])]
    for path, pairs in listed:
        for number, row in jsonl_rows(path, ("key",)):
            wav, label = _row_fields(row)
            if not ({"wav", "audio"} & set(row)) or label is None:
                raise CorpusLayoutError(f"{path}:{number}: needs `wav` (or `audio`) and `emo` (or `label`)")
            if wav_problem(wav):
                bad_rows.append(f"{path}:{number}: {wav_problem(wav)}")
                continue
            key = str(row["key"])
            utterance = Utterance(id=key, audio=audio_root / wav, label=str(label), part="",
                                  source=f"{path}:{number}", language=language)
            if key not in rows:
                rows[key] = utterance
            elif pairs[0] in memberships[key]:
                repeated.append(utterance)  # twice in one file: the writer reports it as a duplicate id
            memberships.setdefault(key, set()).update(pairs)
    part_of, configs = parts_from_memberships(memberships)
    utterances = list(rows.values()) + repeated
    for utterance in utterances:
        utterance.part = part_of[utterance.id]
    return CorpusRows(corpus, "EmoBox metadata", utterances, _ordered(configs), label_map, bad_rows=bad_rows)


def _ordered(configs: dict) -> dict:
    order = {"train": 0, "validation": 1, "test": 2}
    number = lambda name: int(name.split("_")[-1]) if name.split("_")[-1].isdigit() else 0  # noqa: E731
    return {config: dict(sorted(configs[config].items(), key=lambda item: (order.get(item[0], 3), item[0])))
            for config in sorted(configs, key=lambda name: (number(name), name))}
