"""Emo-Emilia (the C2SER test set): one JSON-lines file (`index`, `emotion`, `wav`, `text`) and a folder of wavs.

Language comes from the `ZH_`/`EN_` prefix of `index`; configs `all`, `zh`, `en`, each with one `test` split.

The release keeps the metadata in `Emo-Emilia/Emo-Emilia-ALL.jsonl` and names audio relative to the release's root
folder (the one holding `Emo-Emilia/`): `./Emo-Emilia/wav/<index>.wav`, or `./Emo-Emilia/<index>.wav` in its older
revision. `--source` may be that root, its `Emo-Emilia/` folder, the jsonl itself, or a copy where the paths are
relative to the jsonl's own folder."""

from pathlib import Path, PurePosixPath

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance
from .source_files import jsonl_rows

LAYOUT = ("Emo-Emilia release: the repository root (holding Emo-Emilia/), its Emo-Emilia/ folder or the *.jsonl; "
          "`wav` relative to the root, to the jsonl's folder, or absolute")
_LANGUAGES = {"ZH": "zh", "EN": "en"}
RELEASE_FOLDER = "Emo-Emilia"


def _metadata_file(source: Path) -> Path:
    if not source.is_dir():
        return source
    for folder in (source, source / RELEASE_FOLDER):
        candidates = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
        if len(candidates) > 1:
            raise CorpusLayoutError(f"{folder}: expected one Emo-Emilia *.jsonl file, found {len(candidates)}")
        if candidates:
            return candidates[0]
    raise CorpusLayoutError(f"{source}: no Emo-Emilia *.jsonl here or in {source / RELEASE_FOLDER}")


def _audio_path(wav: str, metadata_folder: Path) -> Path:
    """Where the row's audio is: the released paths start at the root above `Emo-Emilia/`; other copies name it
    relative to the jsonl's folder (with or without the leading `Emo-Emilia/`). The first that exists wins; if none
    does, the path as the release means it, so the error names that."""
    path = PurePosixPath(wav.replace("\\", "/"))
    if path.is_absolute():
        return Path(path)
    parts = [p for p in path.parts if p != "."]
    candidates = [metadata_folder.parent.joinpath(*parts), metadata_folder.joinpath(*parts)]
    if len(parts) > 1 and parts[0] == RELEASE_FOLDER:
        candidates.append(metadata_folder.joinpath(*parts[1:]))
    release_form = candidates[0] if parts and parts[0] == RELEASE_FOLDER else candidates[1]
    return next((c for c in candidates if c.is_file()), release_form)


def read_emo_emilia(source: Path) -> CorpusRows:
    path = _metadata_file(source)
    utterances = []
    for number, row in jsonl_rows(path, ("index", "emotion", "wav", "text")):
        prefix = str(row["index"]).split("_", 1)[0].upper()
        if prefix not in _LANGUAGES:
            raise CorpusLayoutError(f"{path}:{number}: index {row['index']!r} starts with neither ZH_ nor EN_")
        language = _LANGUAGES[prefix]
        utterances.append(Utterance(
            id=str(row["index"]), audio=_audio_path(str(row["wav"]), path.parent), label=str(row["emotion"]),
            part=language, source=f"{path}:{number}", text=str(row["text"]), language=language,
        ))
    configs = {"all": {"test": ["zh", "en"]}, "zh": {"test": ["zh"]}, "en": {"test": ["en"]}}
    return CorpusRows("emo-emilia", "Emo-Emilia release", utterances, configs, LABEL_MAPS["emo-emilia"])
