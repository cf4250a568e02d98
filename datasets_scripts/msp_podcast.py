"""MSP-Podcast from its release: Labels/labels_consensus.csv (FileName, EmoClass, SpkrID, Split_Set) and the audio in
Audios/ (Audio/ in older releases), transcripts in Transcripts/<name>.txt where present. One config, the official
partitions as splits (Train, Development, Test1, Test2, Test3)."""

from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance
from .source_files import csv_rows

LAYOUT = "MSP-Podcast release: Labels/labels_consensus.csv and Audios/<FileName> (or Audio/), Transcripts/<name>.txt"
_SPLITS = {"Train": "train", "Development": "validation", "Test1": "test1", "Test2": "test2", "Test3": "test3"}


def read_msp_podcast(source: Path) -> CorpusRows:
    audio = next((source / name for name in ("Audios", "Audio") if (source / name).is_dir()), None)
    if audio is None:
        raise CorpusLayoutError(f"{source}: neither Audios/ nor Audio/ exists (expected {LAYOUT})")
    table = source / "Labels" / "labels_consensus.csv"
    utterances = []
    for line, row in csv_rows(table, ("FileName", "EmoClass", "SpkrID", "Split_Set")):
        if row["Split_Set"] not in _SPLITS:
            raise CorpusLayoutError(f"{table}:{line}: Split_Set {row['Split_Set']!r} is not one of {list(_SPLITS)}")
        name = row["FileName"].strip()
        transcript = source / "Transcripts" / f"{Path(name).stem}.txt"
        utterances.append(Utterance(
            id=Path(name).stem, audio=audio / name, label=row["EmoClass"].strip(), part=_SPLITS[row["Split_Set"]],
            source=f"{table}:{line}", language="en", speaker=row["SpkrID"].strip(),
            text=transcript.read_text(encoding="utf-8", errors="replace").strip() if transcript.is_file() else "",
        ))
    present = [split for split in _SPLITS.values() if any(u.part == split for u in utterances)]
    return CorpusRows("msp-podcast", "MSP-Podcast release", utterances, {"default": {s: [s] for s in present}},
                      LABEL_MAPS["msp-podcast"])
