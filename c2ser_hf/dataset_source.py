"""Whether a dataset source can be opened at all, decided without importing `datasets` (or torch): a local path that
does not exist, a `save_to_disk` folder whose JSON files are broken, a Hub id while offline. Kept apart from
`dataset_io` so a command refuses such a source in a fresh process before anything heavy loads."""

import json
import os
from pathlib import Path

# the builders `datasets` ships (`datasets.packaged_modules`), which read local files through data_dir / data_files;
# tests/test_training_fast_errors.py keeps this equal to the installed datasets' list
PACKAGED_BUILDERS = (
    "arrow", "audiofolder", "conll", "csv", "eval", "fasta", "fastq", "genbank", "harbor", "hdf5", "iceberg",
    "imagefolder", "json", "lance", "meshfolder", "mmcif", "niftifolder", "pandas", "parquet", "pdb", "pdffolder",
    "text", "tsfile", "videofolder", "vortex", "webdataset", "xml",
)


class DatasetInputError(ValueError):
    """A dataset that cannot be opened as asked; the message names it and says what is wrong."""


def one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _looks_like_path(source: str) -> bool:
    """A source that can only be a local path: absolute, `./`, `../`, `~`, or more than one `/` (a Hub id is
    `name` or `owner/name`)."""
    return (os.path.isabs(source) or source.startswith((".", "~")) or source.count("/") > 1
            or os.sep != "/" and os.sep in source)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on") or os.environ.get(
        "HF_DATASETS_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _read_json(path: Path, source: str, kind):
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetInputError(f"dataset {source}: {path.name} is not valid JSON ({one_line(error, 120)})") from None
    if not isinstance(value, kind):
        raise DatasetInputError(f"dataset {source}: {path.name} holds a {type(value).__name__}, not a "
                                f"{kind.__name__}; the folder is not a readable save_to_disk dataset")
    return value


def is_saved_folder(source) -> bool:
    """Whether `source` is a `Dataset.save_to_disk` / `DatasetDict.save_to_disk` folder."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def check_saved(path: Path, source: str) -> None:
    """The JSON files of a `save_to_disk` folder read as datasets expects them, checked before datasets reads them
    (it raises a TypeError on a state.json holding a list)."""
    if (path / "dataset_dict.json").is_file():
        splits = _read_json(path / "dataset_dict.json", source, dict).get("splits")
        if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
            raise DatasetInputError(f"dataset {source}: dataset_dict.json lists no splits")
        for split in splits:
            _read_json(path / split / "state.json", f"{source} (split {split})", dict)
    else:
        _read_json(path / "state.json", source, dict)


def check_source(source: str) -> None:
    """Refuse, before `datasets` is asked (and before a run loads anything else), a local path that does not exist, a
    `save_to_disk` folder whose JSON files are broken, and a Hub id while offline."""
    if source in PACKAGED_BUILDERS:  # "audiofolder", "parquet", ...: local files through data_dir / files
        return
    if os.path.exists(source):
        if not os.path.isdir(source):
            raise DatasetInputError(f"dataset {source}: is a file, not a dataset folder")
        if is_saved_folder(source):
            check_saved(Path(source), source)
        return
    if _looks_like_path(source) or not source.strip():
        raise DatasetInputError(f"dataset {source}: no such folder")
    if _offline():
        raise DatasetInputError(f"dataset {source}: no such local folder, and it cannot be fetched from the Hub "
                                "while HF_HUB_OFFLINE is set (give a local folder, or unset HF_HUB_OFFLINE)")
