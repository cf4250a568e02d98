"""The supported corpora: for each, its native layout (if it can be read from the distribution) and its EmoBox name."""

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from .emo_emilia import LAYOUT as EMO_EMILIA_LAYOUT
from .emo_emilia import read_emo_emilia
from .emobox import LAYOUT as EMOBOX_LAYOUT
from .emobox import is_emobox_layout, read_emobox
from .esd import LAYOUT as ESD_LAYOUT
from .esd import read_esd
from .iemocap import LAYOUT as IEMOCAP_LAYOUT
from .iemocap import read_iemocap
from .label_maps import LABEL_MAPS
from .meld import LAYOUT as MELD_LAYOUT
from .meld import read_meld
from .msp_podcast import LAYOUT as MSP_PODCAST_LAYOUT
from .msp_podcast import read_msp_podcast
from .named_files import NAMINGS, read_named_files
from .schema import CorpusLayoutError, CorpusRows

# The C2SER paper drops training utterances longer than 20 s (§IV-A).
PAPER_MAX_SECONDS = 20.0


@dataclass(frozen=True)
class Corpus:
    name: str
    language: str  # "" where it varies per row
    native_layout: str | None  # None: only EmoBox metadata describes it in public
    read_native: Callable[[Path], CorpusRows] | None
    emobox: bool = True  # EmoBox metadata accepted as a layout
    max_seconds: float | None = PAPER_MAX_SECONDS


CORPORA: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        Corpus("emo-emilia", "", EMO_EMILIA_LAYOUT, read_emo_emilia, emobox=False, max_seconds=None),
        Corpus("iemocap", "en", IEMOCAP_LAYOUT, read_iemocap),
        Corpus("meld", "en", MELD_LAYOUT, read_meld),
        Corpus("esd", "", ESD_LAYOUT, read_esd),
        *(Corpus(name, naming.language, naming.layout, partial(read_named_files, name))
          for name, naming in NAMINGS.items()),
        Corpus("m3ed", "zh", None, None),
        Corpus("msp-podcast", "en", MSP_PODCAST_LAYOUT, read_msp_podcast),
        Corpus("mer2024", "zh", None, None),
        Corpus("biic-podcast", "zh", None, None),
        Corpus("emobox", "", None, None),
    )
}


def read_corpus(name: str, source: Path, audio_root: Path | None = None) -> CorpusRows:
    """Rows of corpus `name` from `source`, in its native layout or as EmoBox metadata (detected)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; supported: {', '.join(CORPORA)}")
    corpus = CORPORA[name]
    source = Path(source)
    if not source.exists():
        raise CorpusLayoutError(f"{source}: source folder does not exist")
    if corpus.emobox and (corpus.read_native is None or is_emobox_layout(source)):
        return read_emobox(source, name, LABEL_MAPS.get(name), corpus.language, audio_root)
    return corpus.read_native(source)


def layouts() -> list[str]:
    """One line per corpus, its name and the layout(s) `prepare-data` accepts for it, then the EmoBox layout."""
    lines = []
    for corpus in CORPORA.values():
        if corpus.name == "emobox":
            accepted = "any corpus EmoBox describes, labels through its label_map.json"
        elif corpus.read_native is None:
            accepted = "EmoBox metadata only (its distribution layout could not be pinned down from public material)"
        else:
            accepted = corpus.native_layout + ("; or EmoBox metadata" if corpus.emobox else "")
        lines.append(f"{corpus.name}: {accepted}")
    return lines + [f"  {EMOBOX_LAYOUT}"]
