"""Emo-Emilia (the C2SER test set): one JSON-lines file (`index`, `emotion`, `wav`, `text`) and a folder of wavs.

Language comes from the `ZH_`/`EN_` prefix of `index`; configs `all`, `zh`, `en`, each with one `test` split."""

from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance, wav_problem
from .source_files import jsonl_rows

LAYOUT = "Emo-Emilia release: one *.jsonl file (index, emotion, wav, text) in DIR; `wav` relative to DIR or absolute"
_LANGUAGES = {"ZH": "zh", "EN": "en"}


def _metadata_file(source: Path) -> Path:
    candidates = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
    if len(candidates) != 1:
        raise CorpusLayoutError(f"{source}: expected exactly one Emo-Emilia *.jsonl file, found {len(candidates)}")
    return candidates[0]


def read_emo_emilia(source: Path) -> CorpusRows:
    path = _metadata_file(source)
    utterances, bad_rows = [], []
    for number, row in jsonl_rows(path, ("index", "emotion", "wav", "text")):
        prefix = str(row["index"]).split("_", 1)[0].upper()
        if prefix not in _LANGUAGES:
            raise CorpusLayoutError(f"{path}:{number}: index {row['index']!r} starts with neither ZH_ nor EN_")
        if wav_problem(row["wav"]):
            bad_rows.append(f"{path}:{number}: {wav_problem(row['wav'])}")
            continue
        language = _LANGUAGES[prefix]
        utterances.append(Utterance(
            id=str(row["index"]), audio=path.parent / row["wav"], label=str(row["emotion"]), part=language,
            source=f"{path}:{number}", text=str(row["text"]), language=language,
        ))
    configs = {"all": {"test": ["zh", "en"]}, "zh": {"test": ["zh"]}, "en": {"test": ["en"]}}
    return CorpusRows("emo-emilia", "Emo-Emilia release", utterances, configs, LABEL_MAPS["emo-emilia"],
                      bad_rows=bad_rows)
