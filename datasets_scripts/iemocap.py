"""IEMOCAP from its release: Session{1..5}/dialog/EmoEvaluation/*.txt labels, sentences/wav/<dialog>/<turn>.wav audio,
dialog/transcriptions/<dialog>.txt text. Configs: `all` (one train split) and the leave-one-session-out folds."""

import re
from pathlib import Path

from .label_maps import LABEL_MAPS
from .schema import CorpusLayoutError, CorpusRows, Utterance
from .source_files import require

LAYOUT = ("IEMOCAP_full_release/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt, "
          "Session{1..5}/sentences/wav/<dialog>/<turn>.wav, Session{1..5}/dialog/transcriptions/<dialog>.txt")
SESSIONS = [f"Session{number}" for number in range(1, 6)]
# "[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]"
_EVALUATION = re.compile(r"\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\t(?P<turn>\S+)\t(?P<label>\S+)\t\[.*\]")
# "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me."
_TRANSCRIPT = re.compile(r"(?P<turn>Ses\S+) \[[\d.]+-[\d.]+\]: ?(?P<text>.*)")


def _release_root(source: Path) -> Path:
    for root in (source, source / "IEMOCAP_full_release"):
        if (root / SESSIONS[0]).is_dir():
            return root
    raise CorpusLayoutError(f"{source}: no Session1/ here nor in IEMOCAP_full_release/ (expected {LAYOUT})")


def _transcripts(session: Path, dialog: str) -> dict[str, str]:
    path = session / "dialog" / "transcriptions" / f"{dialog}.txt"
    if not path.is_file():
        return {}
    matches = (_TRANSCRIPT.fullmatch(line.strip()) for line in path.read_text(encoding="utf-8").splitlines())
    return {match["turn"]: match["text"] for match in matches if match}


def read_iemocap(source: Path) -> CorpusRows:
    root = _release_root(source)
    utterances = []
    for session_name in SESSIONS:
        session = require(root / session_name, "an IEMOCAP session")
        evaluations = require(session / "dialog" / "EmoEvaluation", "IEMOCAP emotion evaluations")
        # The release ships macOS "._*" companions of the label files; they are not label files.
        for path in sorted(p for p in evaluations.glob("*.txt") if not p.name.startswith(".")):
            texts = _transcripts(session, path.stem)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.startswith("["):
                    continue  # per-annotator and attribute lines follow each turn's summary line
                match = _EVALUATION.fullmatch(line.strip())
                if not match:
                    raise CorpusLayoutError(f"{path}:{number}: not a '[start - end] turn label [V, A, D]' line")
                turn = match["turn"]
                utterances.append(Utterance(
                    id=turn, audio=session / "sentences" / "wav" / path.stem / f"{turn}.wav", label=match["label"],
                    part=session_name, source=f"{path}:{number}", text=texts.get(turn, ""), language="en",
                    # the last field of a turn name starts with the speaker's gender; one actor of each per session
                    speaker=turn[:5] + turn.rsplit("_", 1)[-1][0],
                ))
    configs = {"all": {"train": list(SESSIONS)}}
    for number, held_out in enumerate(SESSIONS, 1):
        configs[f"fold_{number}"] = {"train": [s for s in SESSIONS if s != held_out], "test": [held_out]}
    return CorpusRows("iemocap", "IEMOCAP release", utterances, configs, LABEL_MAPS["iemocap"],
                      notes=["fold_k tests on Session k and trains on the other four (leave-one-session-out)."])
