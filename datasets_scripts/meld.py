"""MELD from MELD.Raw: {train,dev,test}_sent_emo.csv and the clips dia<D>_utt<U>.mp4 (or a .wav extracted from it)
in train_splits/, dev_splits_complete/ and output_repeated_splits_test/. One config with the official splits."""

from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance
from .source_files import csv_rows

LAYOUT = ("MELD.Raw: {train,dev,test}_sent_emo.csv (here or in train/, dev/, test/) and clips dia<D>_utt<U>.mp4|.wav "
          "in train_splits/, dev_splits_complete/, output_repeated_splits_test/")
# split name -> (CSV prefix, clip folder)
_SPLITS = {"train": ("train", "train_splits"), "validation": ("dev", "dev_splits_complete"),
           "test": ("test", "output_repeated_splits_test")}
_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def _find(source: Path, prefix: str, name: str) -> Path:
    for candidate in (source / name, source / prefix / name):
        if candidate.exists():
            return candidate
    raise CorpusLayoutError(f"{source}: neither {name} nor {prefix}/{name} exists (expected {LAYOUT})")


def _clip(folder: Path, dialogue: str, utterance: str) -> Path:
    stem = f"dia{dialogue}_utt{utterance}"
    wav = folder / f"{stem}.wav"
    return wav if wav.is_file() else folder / f"{stem}.mp4"


def read_meld(source: Path) -> CorpusRows:
    utterances = []
    for split, (prefix, clips) in _SPLITS.items():
        table, folder = _find(source, prefix, f"{prefix}_sent_emo.csv"), _find(source, prefix, clips)
        for line, row in csv_rows(table, _COLUMNS):
            dialogue, utterance = row["Dialogue_ID"].strip(), row["Utterance_ID"].strip()
            utterances.append(Utterance(
                id=f"{prefix}_dia{dialogue}_utt{utterance}", audio=_clip(folder, dialogue, utterance),
                label=row["Emotion"].strip(), part=split, source=f"{table}:{line}", text=row["Utterance"].strip(),
                language="en", speaker=row["Speaker"].strip(),
            ))
    configs = {"default": {split: [split] for split in _SPLITS}}
    return CorpusRows("meld", "MELD.Raw release", utterances, configs, LABEL_MAPS["meld"])
