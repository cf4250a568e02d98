"""ESD from its release: <speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<index>.wav, transcripts in
<speaker>/<speaker>.txt (id, text, emotion; tab-separated). Speakers 0001-0010 speak Chinese, 0011-0020 English.

Configs: `c2ser` (default): the paper's held-out test set of 3,500 utterances (§IV) — the paper does not say which,
so 10% of each speaker x emotion (35 of 350) drawn with a fixed seed, the rest train; `official`: ESD's own split
(per emotion, the first 20 utterances evaluation, the next 30 test, the last 300 train)."""

import random
import re
from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance, parts_from_memberships

LAYOUT = "ESD release: <speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<index>.wav, <speaker>/<speaker>.txt"
_FILE = re.compile(r"(?P<speaker>\d{4})/(?P<label>[A-Za-z]+)/(?:(?P<split>train|evaluation|test)/)?"
                   r"(?P=speaker)_(?P<index>\d{6})\.wav")
_OFFICIAL = {"evaluation": "validation", "test": "test", "train": "train"}
PER_EMOTION = 350
HELD_OUT_FRACTION = 0.1


def _official_split(index: int) -> str:
    position = (index - 1) % PER_EMOTION + 1
    return "validation" if position <= 20 else "test" if position <= 50 else "train"


def _held_out(ids: list[str], speaker: str, label: str) -> set[str]:
    count = round(len(ids) * HELD_OUT_FRACTION)
    return set(random.Random(f"esd-{speaker}-{label}").sample(sorted(ids), count))


def _transcripts(speaker_folder: Path) -> dict[str, str]:
    path = speaker_folder / f"{speaker_folder.name}.txt"
    if not path.is_file():
        return {}
    # Text is a by-product here (labels come from the folders), so a stray undecodable byte must not stop a build.
    fields = (line.split("\t") for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines())
    return {parts[0].strip(): parts[1].strip() for parts in fields if len(parts) >= 2}


def read_esd(source: Path) -> CorpusRows:
    root = source / "Emotion Speech Dataset" if (source / "Emotion Speech Dataset").is_dir() else source
    speakers = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name))
    if not speakers:
        raise CorpusLayoutError(f"{root}: no speaker folders 0001..0020 (expected {LAYOUT})")
    utterances, groups = [], {}
    for speaker in speakers:
        texts = _transcripts(speaker)
        for path in sorted(speaker.rglob("*.wav")):
            relative = path.relative_to(root).as_posix()
            match = _FILE.fullmatch(relative)
            if not match:
                raise CorpusLayoutError(f"{path}: not <speaker>/<Emotion>/[split/]<speaker>_<index>.wav")
            stem = path.stem
            official = _OFFICIAL[match["split"]] if match["split"] else _official_split(int(match["index"]))
            utterances.append(Utterance(
                id=stem, audio=path, label=match["label"], part=official, source=str(path), text=texts.get(stem, ""),
                language="zh" if int(match["speaker"]) <= 10 else "en", speaker=match["speaker"],
            ))
            groups.setdefault((match["speaker"], match["label"]), []).append(stem)
    held_out = set().union(*(_held_out(ids, *group) for group, ids in groups.items()))
    memberships = {u.id: {("c2ser", "test" if u.id in held_out else "train"), ("official", u.part)}
                   for u in utterances}
    part_of, configs = parts_from_memberships(memberships)
    for utterance in utterances:
        utterance.part = part_of[utterance.id]
    order = ("train", "validation", "test")
    configs = {name: {split: configs[name][split] for split in order if split in configs[name]}
               for name in ("c2ser", "official")}
    return CorpusRows("esd", "ESD release", utterances, configs, LABEL_MAPS["esd"], notes=[
        "c2ser holds out 10% of each speaker x emotion (35 of 350 in the full corpus: 3,500 utterances) with a "
        "fixed seed; the paper states the size of its held-out set, not its members."])
