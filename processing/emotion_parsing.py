"""Emotion labels: the seven canonical emotions, their English and Chinese wordings, and parsing of C2SER answers.

C2SER answers in free text and uses several words for one emotion (stage 1 says 快乐 and stage 2 says 高兴 for the
same clip, docs/fidelity.md#emotion-scores), so every consumer maps wordings to the canonical labels through this one
table.
"""

import re

EMOTIONS = ("anger", "happiness", "neutral", "sadness", "surprise", "disgust", "fear")

# Canonical label first: it is the preferred wording when one must be chosen (answer templates, likelihood scoring).
# Decisions: 不开心/不高兴 are sadness, like "unhappy", because they are lexicalised words for it, not a negated
# 开心; 担心/worried are fear, the nearest of the seven; "madness" is not here (it means insanity, not anger).
EMOTION_WORDINGS = {
    "anger": ("anger", "angry", "mad", "furious", "annoyed", "irritated", "生气", "愤怒", "恼怒", "气愤"),
    "happiness": (
        "happiness", "happy", "joy", "joyful", "glad", "delighted", "excited", "excitement", "cheerful",
        "高兴", "快乐", "开心", "喜悦", "愉快", "兴奋",
    ),
    "neutral": ("neutral", "calm", "中性", "中立", "平静", "平淡"),
    "sadness": ("sadness", "sad", "sorrow", "unhappy", "depressed", "悲伤", "难过", "伤心", "沮丧", "不开心", "不高兴"),
    "surprise": ("surprise", "surprised", "astonished", "amazed", "惊讶", "吃惊", "惊奇"),
    "disgust": ("disgust", "disgusted", "disgusting", "厌恶", "恶心", "反感"),
    "fear": ("fear", "fearful", "afraid", "scared", "frightened", "worried", "恐惧", "害怕", "担心"),
}

_LANGUAGE_OF_WORDING = {"en": str.isascii, "zh": lambda wording: not wording.isascii()}

_EMOTION_OF = {wording: emotion for emotion, wordings in EMOTION_WORDINGS.items() for wording in wordings}


def _wording_pattern(wording):
    # English words must stand alone ("unhappy" is not "happy", "fearless" is not "fear"); \b would fail next to
    # Chinese characters, which are word characters too. Chinese has no word boundaries to check.
    return rf"(?<![a-z]){re.escape(wording)}(?![a-z])" if wording.isascii() else re.escape(wording)


# Longest first, so that at each position the longest wording wins (不开心 over 开心, sadness over sad).
_WORDING = "|".join(_wording_pattern(w) for w in sorted(_EMOTION_OF, key=len, reverse=True))
_MENTION = re.compile(_WORDING, re.IGNORECASE)
# The answer templates of both stages and languages (docs/fidelity.md#prompts); the emotion word must follow the marker
# directly, quotes, colons and markdown emphasis aside, so "the emotion is not anger" is no conclusion.
_CONCLUSION = re.compile(
    r"(?:(?:情绪|情感)(?:为|是|[:：])"
    r"|(?<![a-z])emotion(?:al state)?(?:\s+of\s+(?:this|the)\s+\w+)?"
    r"(?:\s+(?:is|was)(?:\s+inferred\s+(?:to\s+be|as))?|\s*:))"
    rf"""[\s"'“”‘’「」『』*:：]*(?P<wording>{_WORDING})""",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,.;:!?，。；：！？、\n]")
_ENGLISH_NEGATION = re.compile(
    r"(?<![a-z])(?:not|no|never|neither|nor|without|rather than|instead of)(?![a-z])|n['’]t(?![a-z])", re.IGNORECASE
)
# Matched as the text's ending: 不 also ends 并不, 非 ends 并非/而非, 无 ends 并无/毫无.
_CHINESE_NEGATIONS = ("不", "不是", "没", "没有", "非", "无")
_ENGLISH_NEGATION_REACH = 3  # words: "not angry", "not very angry", "no sign of anger"


def emotion_wordings(emotion: str, language: str | None = None) -> tuple[str, ...]:
    """The wordings of a canonical `emotion`, canonical label first; `language` "en" or "zh" keeps that language's."""
    if emotion not in EMOTION_WORDINGS:
        raise ValueError(f"emotion {emotion!r} is not one of {EMOTIONS}")
    if language is None:
        return EMOTION_WORDINGS[emotion]
    if language not in _LANGUAGE_OF_WORDING:
        raise ValueError(f"language {language!r} is not one of {tuple(_LANGUAGE_OF_WORDING)} or None")
    return tuple(filter(_LANGUAGE_OF_WORDING[language], EMOTION_WORDINGS[emotion]))


def normalize_emotion(word: str) -> str | None:
    """The canonical emotion of one label word in any case, with surrounding punctuation and whitespace; else None."""
    _check_text("word", word)
    return _EMOTION_OF.get(re.sub(r"^[\W_]+|[\W_]+$", "", word).lower())


def parse_emotion(text: str) -> str | None:
    """The concluding emotion of a C2SER answer, or None when it names none.

    The last explicit conclusion ("推测情绪为X", "情感为X", "the emotion was inferred to be X", "emotion: X", ...) wins;
    without one, the last emotion word that is not negated wins, since answers conclude after they describe.
    """
    _check_text("text", text)
    conclusions = list(_CONCLUSION.finditer(text))
    if conclusions:
        return _EMOTION_OF[conclusions[-1]["wording"].lower()]
    emotion, previous_end = None, 0
    for mention in _MENTION.finditer(text):
        # A negation reaches only the next emotion word, so in "not angry but sad" it stops at "angry".
        if not _is_negated(text[previous_end : mention.start()], mention[0]):
            emotion = _EMOTION_OF[mention[0].lower()]
        previous_end = mention.end()
    return emotion


def _is_negated(preceding: str, wording: str) -> bool:
    """Whether `preceding`, the text between the previous emotion word and `wording`, negates `wording`."""
    if not wording.isascii():
        return preceding.endswith(_CHINESE_NEGATIONS)
    words = _CLAUSE_BREAK.split(preceding)[-1].split()[-_ENGLISH_NEGATION_REACH:]
    return _ENGLISH_NEGATION.search(" ".join(words)) is not None


def _check_text(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}: {value!r}")
