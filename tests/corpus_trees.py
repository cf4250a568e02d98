"""Miniature corpus source trees that follow each distribution's real layout and file naming, with tone audio."""

import json
from pathlib import Path

from audio_fixtures import tone

EMO_EMILIA_LABELS = ("angry", "happy", "fearful", "surprised", "neutral", "sad", "disgusted")


def wav(path: Path, seconds=0.3, rate=16000, channels=1, seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tone(path, seconds=seconds, rate=rate, channels=channels, freq=150 + 10 * (seed % 40), seed=seed)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def emo_emilia(root: Path, per_label: int = 1) -> Path:
    """EMO-Emilia-ALL.jsonl + wavs/: per language, `per_label` rows of each of the seven labels (24 kHz, like Emilia)."""
    rows = []
    for language in ("ZH", "EN"):
        for number, label in enumerate(EMO_EMILIA_LABELS * per_label):
            index = f"{language}_B00{number:03d}_S00010_W000{number:03d}"
            wav(root / "wavs" / f"{index}.wav", rate=24000, seed=number)
            rows.append({"index": index, "emotion": label, "wav": f"wavs/{index}.wav", "text": f"{language} {number}"})
    write_jsonl(root / "EMO-Emilia-ALL.jsonl", rows)
    return root


def emobox(root: Path, dataset: str, rows: list[tuple[str, str, str]], folds: dict[int, dict[str, list[str]]],
           label_map: dict[str, str] | None = None) -> Path:
    """An EmoBox checkout: data/<dataset>/{<dataset>.jsonl, fold_k/<dataset>_<split>_fold_k.jsonl, label_map.json}
    and audio under downloads/<dataset>/. `rows` are (key, wav path under downloads/<dataset>/, emo)."""
    records = {}
    for number, (key, relative, emo) in enumerate(rows):
        path = wav(root / "downloads" / dataset / relative, rate=16000 if number % 2 else 44100, seed=number)
        records[key] = {"key": key, "dataset": dataset, "wav": str(path.relative_to(root)), "type": "raw",
                        "sample_rate": 16000, "length": 0.3, "emo": emo, "channel": 1}
    folder = root / "data" / dataset
    write_jsonl(folder / f"{dataset}.jsonl", list(records.values()))
    for fold, splits in folds.items():
        for split, keys in splits.items():
            write_jsonl(folder / f"fold_{fold}" / f"{dataset}_{split}_fold_{fold}.jsonl", [records[k] for k in keys])
    if label_map is not None:
        (folder / "label_map.json").write_text(json.dumps(label_map), encoding="utf-8")
    return folder


def load(out: Path, config: str | None = None, **kwargs):
    """`datasets.load_dataset(out, config)` with a cache beside `out`, so tests leave the user's cache alone."""
    import datasets

    return datasets.load_dataset(str(out), config, cache_dir=str(out.parent / "hf-cache"), **kwargs)
