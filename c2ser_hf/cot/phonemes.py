"""Phoneme counts of transcripts, for the speaking rate (paper §III-C step 1), offline.

English goes through espeak-ng (phonemizer's espeak backend, which reads numbers and abbreviations out the way they
are spoken). Chinese goes through pypinyin: each character's initial (声母, absent for zero-initial syllables) and
final (韵母) are its phonemes, the phone set of Mandarin lexicons; Latin-script words inside Chinese text are
counted as English.
"""

import re
import unicodedata
from functools import lru_cache

LANGUAGES = ("en", "zh")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*")


class PhonemizeError(ValueError):
    """A transcript that cannot be phonemised: an unsupported language or no pronounceable content."""


def detect_language(text: str) -> str:
    """"zh" when the text holds any Han character, else "en"."""
    return "zh" if _HAN.search(text) else "en"


@lru_cache(maxsize=None)
def _espeak():
    from phonemizer.backend import EspeakBackend

    return EspeakBackend("en-us", preserve_punctuation=False, with_stress=False)


def _english_phonemes(texts: list[str]) -> list[int]:
    from phonemizer.separator import Separator

    # Word separator "|" keeps word boundaries out of the phone list.
    phones = _espeak().phonemize(texts, separator=Separator(phone=" ", word=" | ", syllable=""), strip=True, njobs=1)
    return [sum(1 for token in line.split() if token != "|") for line in phones]


def _chinese_phonemes(text: str) -> int:
    from pypinyin import Style, lazy_pinyin

    han = "".join(_HAN.findall(text))
    if not han:
        return 0
    initials = lazy_pinyin(han, style=Style.INITIALS, strict=True)
    finals = lazy_pinyin(han, style=Style.FINALS, strict=True)
    return sum(1 for initial in initials if initial) + sum(1 for final in finals if final)


def count_phonemes(texts: list[str], languages: list[str]) -> list[int]:
    """Phonemes in each transcript; `languages` holds "en" or "zh" per text. Raises PhonemizeError naming the text."""
    if len(texts) != len(languages):
        raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
    for index, (text, language) in enumerate(zip(texts, languages)):
        if language not in LANGUAGES:
            raise PhonemizeError(f"text {index} ({text[:40]!r}): language {language!r} cannot be phonemised; "
                                 f"supported: {', '.join(LANGUAGES)}")
    counts = [0] * len(texts)
    english_parts: list[tuple[int, str]] = []
    for index, (text, language) in enumerate(zip(texts, languages)):
        text = unicodedata.normalize("NFKC", text)
        if language == "zh":
            counts[index] += _chinese_phonemes(text)
            latin = " ".join(_LATIN_RUN.findall(text))
            if latin:
                english_parts.append((index, latin))
        elif text.strip():
            english_parts.append((index, text))
    if english_parts:
        for (index, _), n in zip(english_parts, _english_phonemes([part for _, part in english_parts])):
            counts[index] += n
    return counts
