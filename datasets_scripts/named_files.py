"""Corpora whose labels are in their folder and file names: CASIA, EmoV-DB, EMOVO, MESD, ASVP-ESD.

Each is one naming rule (a regular expression over the path below the source folder). Configs: `all` (everything as
one `test` split: the paper evaluates on these corpora zero-shot) and, where the names identify speakers and there
are few of them, leave-one-speaker-out folds."""

import re
from dataclasses import dataclass
from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance
from .source_files import audio_files

_MAX_SPEAKER_FOLDS = 10


@dataclass(frozen=True)
class Naming:
    corpus: str
    layout: str
    pattern: str  # groups: label, speaker (optional), text (optional), language (optional)
    language: str = ""
    languages: tuple = ()  # (code in the name, language) pairs, where the name carries the language

    def utterance(self, source: Path, path: Path) -> Utterance:
        relative = path.relative_to(source).as_posix()
        match = re.fullmatch(self.pattern, relative)
        if not match:
            raise CorpusLayoutError(f"{path}: not named as {self.corpus} files are ({self.layout})")
        fields = match.groupdict()
        language = dict(self.languages).get(fields.get("language"), "") if self.languages else self.language
        # The path names the file uniquely; EmoV-DB and CASIA reuse file names across folders.
        return Utterance(
            id=f"{self.corpus}-" + relative.removesuffix(".wav").replace("/", "-"), audio=path, label=fields["label"],
            part="all", source=str(path), text=(fields.get("text") or "").replace("_", " "), language=language,
            speaker=fields.get("speaker") or "",
        )


NAMINGS = {
    naming.corpus: naming
    for naming in (
        Naming("casia", "<speaker>/<emotion>/<number>.wav", r"(?P<speaker>[^/]+)/(?P<label>[^/]+)/\d+\.wav", "zh"),
        Naming("emov-db", "<speaker>_<Emotion>/<emotion>_<first>-<last>_<number>.wav",
               r"(?P<speaker>[^/_]+)_(?P<label>[^/_]+)/[^/]+\.wav", "en"),
        Naming("emovo", "<actor>/<emotion>-<actor>-<sentence>.wav, e.g. f1/dis-f1-b1.wav",
               r"(?:[^/]+/)*(?P<label>[a-z]{3})-(?P<speaker>[fm]\d)-[a-z]\d\.wav", "it"),
        Naming("mesd", "<Emotion>_<F|M|C>_<A|B>_<word>.wav in any folder",
               r"(?:[^/]+/)*(?P<label>[A-Za-z]+)_[FMC]_[AB]_(?P<text>[^/]+)\.wav", "es"),
        Naming("asvp-esd", "actor_<n>/<modality>-<channel>-<emotion>-<intensity>-<statement>-<actor>-<age>-<source>"
               "[-<language>[-...]].wav",
               r"(?:[^/]+/)*\d{2}-\d{2}-(?P<label>\d{2})-\d{2}-\d{2}-(?P<speaker>\d+)-\d{2}-\d{2}(?:-(?P<language>\d{2}))?"
               r"(?:-\d+)*\.wav", languages=(("01", "zh"), ("02", "en"), ("04", "fr"))),
    )
}


def read_named_files(corpus: str, source: Path) -> CorpusRows:
    naming = NAMINGS[corpus]
    utterances, stray = [], []
    for path in audio_files(source):
        try:
            utterances.append(naming.utterance(source, path))
        except CorpusLayoutError as error:
            stray.append(str(error))
    if not utterances:
        raise CorpusLayoutError(stray[0] if stray else f"{source}: no .wav files (expected {naming.layout})")
    speakers = sorted({u.speaker for u in utterances})
    notes = []
    if not 1 < len(speakers) <= _MAX_SPEAKER_FOLDS or "" in speakers:
        return CorpusRows(corpus, f"{corpus} release", utterances, {"all": {"test": ["all"]}}, LABEL_MAPS[corpus],
                          bad_rows=stray)
    for utterance in utterances:
        utterance.part = f"speaker_{utterance.speaker}"
    parts = [f"speaker_{speaker}" for speaker in speakers]
    configs = {"all": {"test": parts}}
    for number, held_out in enumerate(parts, 1):
        configs[f"fold_{number}"] = {"train": [p for p in parts if p != held_out], "test": [held_out]}
        notes.append(f"fold_{number} tests on speaker {speakers[number - 1]} and trains on the other speakers.")
    return CorpusRows(corpus, f"{corpus} release", utterances, configs, LABEL_MAPS[corpus], notes, stray)
