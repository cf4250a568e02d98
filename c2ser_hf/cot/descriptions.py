"""Chain-of-thought targets (paper §III-C step 3, §III-D): the Table I prompt for an instruct LLM, the check that a
generated description is grounded in the given evidence, the deterministic template that replaces a failing one,
and the implicit target."""

import re
import unicodedata

from ..processing.emotion_parsing import emotion_wordings, parse_emotion
from ..processing.emotion_scoring import ANSWER_TEMPLATES

# Data, not code: how each level of each attribute is worded. The first word of each tuple is the one prompts and
# templates use; the others are accepted in a generated description.
LEVEL_WORDS = {
    "en": {
        "speaking_rate": {
            "Low": ("slow", "leisurely", "unhurried", "sluggish", "low"),
            "Medium": ("moderate", "medium", "average", "normal", "steady", "even"),
            "High": ("fast", "quick", "rapid", "brisk", "hurried", "high"),
        },
        "pitch_hz": {
            "Low": ("low-pitched", "low", "deep"),
            "Medium": ("medium-pitched", "moderate", "medium", "mid", "average", "normal", "moderately-pitched"),
            "High": ("high-pitched", "high", "shrill"),
        },
        "loudness_lufs": {
            "Low": ("soft", "quiet", "low", "gentle", "faint", "weak"),
            "Medium": ("moderate", "medium", "average", "normal"),
            "High": ("loud", "high", "strong", "powerful", "forceful"),
        },
    },
    "zh": {
        "speaking_rate": {
            "Low": ("缓慢", "较慢", "偏慢", "慢速", "慢"),
            "Medium": ("中等", "适中", "正常", "平稳", "适度"),
            "High": ("快速", "较快", "偏快", "急促", "飞快", "快"),
        },
        "pitch_hz": {
            "Low": ("低沉", "较低", "偏低", "低"),
            "Medium": ("中等", "适中", "平稳", "正常"),
            "High": ("高昂", "较高", "偏高", "高亢", "尖锐", "高"),
        },
        "loudness_lufs": {
            "Low": ("较小", "偏小", "轻柔", "微弱", "较低", "小", "轻", "低"),
            "Medium": ("中等", "适中", "正常"),
            "High": ("较大", "偏大", "洪亮", "响亮", "较高", "大", "高"),
        },
    },
}
# The nouns that say which attribute a level word qualifies.
ATTRIBUTE_NOUNS = {
    "en": {
        "speaking_rate": ("pace", "speed", "rate", "tempo"),
        "pitch_hz": ("pitch", "tone", "intonation"),
        "loudness_lufs": ("volume", "loudness", "energy", "voice"),
    },
    "zh": {
        "speaking_rate": ("语速", "速度", "节奏"),
        "pitch_hz": ("语调", "音调", "音高", "声调"),
        "loudness_lufs": ("音量", "响度", "声音"),
    },
}
# Manner adverbs name their attribute by themselves ("spoke quickly").
ADVERBS = {
    "speaking_rate": {"Low": ("slowly",), "High": ("quickly", "rapidly", "hurriedly", "fast")},
    "loudness_lufs": {"Low": ("softly", "quietly", "gently"), "High": ("loudly", "forcefully")},
}
_INTENSIFIERS = {
    "en": r"(?:very|rather|quite|fairly|relatively|somewhat|slightly|a\s+bit|extremely|particularly|notably)",
    "zh": r"(?:较为|比较|相对|非常|十分|很|稍|略|有些|有点)",
}

PROMPTS = {
    "en": (
        "Based on the provided speech features—including a speaking rate of {speaking_rate}, a volume level of "
        "{loudness_lufs}, and a pitch of {pitch_hz}—along with the text content '{text}' and the emotion {emotion}, "
        "generate a natural and logical emotional description. Here is an example: '{example}' Ensure including all "
        "speech features and logic of the description. Reply in English with the description only."
    ),
    "zh": (
        "根据提供的语音特征——语速{speaking_rate}、音量{loudness_lufs}、音调{pitch_hz}——以及文本内容“{text}”和情绪"
        "{emotion}，生成一段自然且合乎逻辑的情感描述。示例：“{example}”请确保包含所有语音特征，并保持描述的逻辑性。"
        "只用中文回答，只输出描述本身。"
    ),
}


def _level_word(language, attribute, level):
    return LEVEL_WORDS[language][attribute][level][0]


def emotion_word(emotion: str, language: str) -> str:
    """The fixed label vocabulary of targets: the canonical English label, or the first Chinese wording."""
    return emotion_wordings(emotion, language)[0]


def implicit_target(emotion: str, language: str) -> str:
    """Stage 2 target: "The emotion of this speech is X." / "这条语音的情感为X" (the scoring templates' first form)."""
    return ANSWER_TEMPLATES[language][0].format(emotion_word(emotion, language))


def template_description(levels: dict, text: str, emotion: str, language: str) -> str:
    """The deterministic explicit target, in the pattern of the paper's example (Table I) and the released model's
    Chinese output (docs/fidelity.md#prompts); attributes whose level is None are left out."""
    words = {a: _level_word(language, a, level) for a, level in levels.items() if level is not None}
    emotion_text = emotion_word(emotion, language)
    if language == "zh":
        parts = []
        if "speaking_rate" in words:
            parts.append(f"{words['speaking_rate']}的速度")
        if "pitch_hz" in words:
            parts.append(f"{words['pitch_hz']}的语调")
        if "loudness_lufs" in words:
            parts.append(f"{words['loudness_lufs']}音量的声音")
        style = ("以" + ("、".join(parts[:-1]) + "和" if len(parts) > 1 else "") + parts[-1]) if parts else ""
        said = f"说道：“{text}”" if text else "说话。"
        return f"说话者{style}{said}通过分析语音特征，推测情绪为{emotion_text}。"
    parts = []
    if "speaking_rate" in words:
        parts.append(f"at a {words['speaking_rate']} pace")
    withs = [f"a {words[a]} {noun}" for a, noun in (("pitch_hz", "tone"), ("loudness_lufs", "volume")) if a in words]
    if withs:
        parts.append("with " + " and ".join(withs))
    style = (" " + ", ".join(parts)) if parts else ""
    said = (f": “{text}”" + ("" if text[-1] in ".!?…" else ".")) if text else "."
    return (f"The speaker spoke{style}{said} Based on the analysis of speech characteristics, the emotion was "
            f"inferred to be {emotion_text}.")


def description_prompt(levels: dict, text: str, emotion: str, language: str) -> str:
    """Table I's prompt with the levels, transcript and label filled in; the template description is its example."""
    fill = {a: _level_word(language, a, level) if level is not None else "unknown" for a, level in levels.items()}
    return PROMPTS[language].format(
        **fill, text=text, emotion=emotion_word(emotion, language),
        example=template_description(levels, text, emotion, language),
    )


def _normalized(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|『[^』]*』")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _level_patterns(language: str, attribute: str, level: str) -> list[str]:
    noun = "|".join(map(re.escape, ATTRIBUTE_NOUNS[language][attribute]))
    word = "|".join(map(re.escape, sorted(LEVEL_WORDS[language][attribute][level], key=len, reverse=True)))
    intensifier = _INTENSIFIERS[language]
    if language == "zh":
        return [rf"(?:{word})的?(?:{noun})", rf"(?:{noun})(?:{intensifier})?(?:为|是)?(?:{word})"]
    patterns = [
        # "a slow pace", "a low-pitched tone", "a moderate speaking rate"
        rf"(?<![\w-])(?:{word})(?:[\s,-]+(?:{intensifier}|pitched|speaking))?[\s-]+(?:{noun})(?!\w)",
        # "the pitch was low", "a speaking rate of slow"
        rf"(?<![\w-])(?:{noun})\s+(?:(?:was|is|were|remained|seemed|sounded|of|at)\s+)?(?:(?:a|an|the)\s+)?"
        rf"(?:{intensifier}\s+)?(?:{word})(?![\w-])",
    ]
    if attribute == "pitch_hz":
        patterns.append(rf"(?<![\w-])(?:{word})-pitched(?![\w-])")
    adverbs = ADVERBS.get(attribute, {}).get(level)
    if adverbs:
        # "spoke quickly", "speaking quickly and loudly"
        patterns.append(rf"(?:spoke|speaks|speaking|talked|talks|talking|said)(?:\s+[\w-]+){{0,3}}?\s+"
                        rf"(?:{'|'.join(adverbs)})(?![\w-])")
    return patterns


def _stated_levels(text: str, language: str) -> dict[str, set]:
    """Levels the text attributes to each attribute: a level word next to one of the attribute's nouns, or a manner
    adverb."""
    return {
        attribute: {
            level for level in LEVEL_WORDS[language][attribute]
            if any(re.search(p, text, re.IGNORECASE) for p in _level_patterns(language, attribute, level))
        }
        for attribute in ATTRIBUTE_NOUNS[language]
    }


def stated_levels(description: str, language: str) -> dict[str, set]:
    """Per attribute, the levels a description attributes to it in its own words (the quoted transcript left out)."""
    return _stated_levels(_QUOTED.sub(" ", description), language)


def check_description(description: str, levels: dict, text: str, emotion: str, language: str) -> list[str]:
    """What is wrong with a generated description; empty when it quotes the transcript, states every given level of
    each attribute and no other, concludes with the given emotion, and is in the transcript's language."""
    problems = []
    if not description.strip():
        return ["empty"]
    if text and _normalized(text) not in _normalized(description):
        problems.append("does not quote the transcript")
    # The transcript may itself name emotions or levels; only the description's own words count.
    own = _QUOTED.sub(" ", description)
    if language == "zh" and not _HAN.search(own):
        problems.append("not in Chinese")
    if language == "en" and _HAN.search(own):
        problems.append("not in English")
    concluded = parse_emotion(own)
    if concluded != emotion:
        problems.append(f"concludes {concluded!r}, not {emotion!r}")
    stated = _stated_levels(own, language)
    for attribute, level in levels.items():
        if level is not None and stated[attribute] != {level}:
            found = ", ".join(sorted(stated[attribute])) or "nothing"
            problems.append(f"{attribute}: states {found}, not {level}")
    return problems
