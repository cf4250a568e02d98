"""The one schema every prepared corpus has, the rows builders hand to the writer, and the layout error."""

from dataclasses import dataclass, field
from pathlib import Path

from datasets import Audio, ClassLabel, Features, Value

from c2ser_hf.processing.emotion_parsing import EMOTIONS

SAMPLING_RATE = 16000

FEATURES = Features(
    {
        "audio": Audio(sampling_rate=SAMPLING_RATE),
        "emotion": ClassLabel(names=list(EMOTIONS)),
        "original_label": Value("string"),
        "text": Value("string"),
        "language": Value("string"),
        "speaker": Value("string"),
        "corpus": Value("string"),
        "id": Value("string"),
        "duration": Value("float32"),
    }
)


class CorpusLayoutError(ValueError):
    """The source folder is not laid out as the corpus's distribution is; the message names the file and line/row."""


class BadRowError(CorpusLayoutError):
    """One row cannot be used (unknown label, missing or unreadable audio, duplicate id): what `skip_bad` skips."""


@dataclass
class Utterance:
    """One row as a builder reads it from the original corpus, before its audio is decoded."""

    id: str
    audio: Path
    label: str  # as the corpus writes it; the label map turns it into a canonical emotion
    part: str  # the group of rows stored together; configs list parts per split
    source: str  # where the row was read, "file:line", for error messages
    text: str = ""
    language: str = ""
    speaker: str = ""


@dataclass
class CorpusRows:
    """What a builder reads: the rows, the label map that applies to them, and the configs built from their parts.

    `configs` maps config name -> split name -> part names; the first config is the default one."""

    corpus: str
    layout: str
    utterances: list[Utterance]
    configs: dict[str, dict[str, list[str]]]
    label_map: dict[str, str | None]
    notes: list[str] = field(default_factory=list)  # facts about the preparation that the dataset card states


def parts_from_memberships(memberships: dict[str, set[tuple[str, str]]]) -> tuple[dict[str, str], dict]:
    """Group ids by the (config, split) pairs they belong to, so that each utterance is stored once however many
    configs use it (five cross-validation folds would otherwise store every clip five times).

    Returns (part name per id, config -> split -> parts). A part is named after its non-train memberships
    ("fold_1-test"), or "train" when it is in train splits only."""
    part_of, configs, name_of = {}, {}, {}
    for key, pairs in memberships.items():
        signature = frozenset(pairs)
        if signature not in name_of:
            others = sorted(f"{config}-{split}" for config, split in pairs if split != "train")
            name = "_".join(others) or "train"
            # Same non-train memberships but different train ones (a row missing from some fold): keep parts apart.
            taken = set(name_of.values())
            name_of[signature] = name if name not in taken else next(
                f"{name}-{n}" for n in range(2, len(taken) + 2) if f"{name}-{n}" not in taken)
        part_of[key] = name_of[signature]
        for config, split in pairs:
            parts = configs.setdefault(config, {}).setdefault(split, [])
            if part_of[key] not in parts:
                parts.append(part_of[key])
    return part_of, configs
