"""Emotion labels: the alias table, label normalisation and parsing of C2SER answers (English and Chinese)."""

import pytest

from c2ser_hf.processing.emotion_parsing import (
    EMOTION_WORDINGS,
    EMOTIONS,
    emotion_wordings,
    normalize_emotion,
    parse_emotion,
)

ALL_WORDINGS = [(wording, emotion) for emotion, wordings in EMOTION_WORDINGS.items() for wording in wordings]

# The released model's documented answers (Chinese) and the English templates of our targets (docs/fidelity.md#prompts).
STAGE1_ZH = (
    "说话者以缓慢的速度、高昂的语调和中等音量的声音说道：“不知道艾德林小姐有没有给我们准备好吃的点心呢。”"
    "通过分析语音特征，推测情绪为快乐，透露出一种期待和兴奋的喜悦。"
)
STAGE1_EN = (
    'The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: "I told you not to touch it." '
    "Based on the analysis of the speech features, the emotion was inferred to be disgust, showing a strong aversion."
)


def test_emotions_order_is_the_house_order():
    assert EMOTIONS == ("anger", "happiness", "neutral", "sadness", "surprise", "disgust", "fear")
    assert tuple(EMOTION_WORDINGS) == EMOTIONS


def test_each_wording_names_one_emotion_and_starts_with_its_label():
    assert len({wording for wording, _ in ALL_WORDINGS}) == len(ALL_WORDINGS)
    assert all(EMOTION_WORDINGS[emotion][0] == emotion for emotion in EMOTIONS)


@pytest.mark.parametrize(
    "emotion, required",
    [
        ("anger", "anger angry mad furious annoyed irritated 生气 愤怒 恼怒 气愤"),
        ("happiness", "happiness happy joy joyful glad delighted excited excitement cheerful 高兴 快乐 开心 喜悦 愉快 兴奋"),
        ("neutral", "neutral calm 中性 中立 平静 平淡"),
        ("sadness", "sadness sad sorrow unhappy depressed 悲伤 难过 伤心 沮丧 不开心"),
        ("surprise", "surprise surprised astonished amazed 惊讶 吃惊 惊奇"),
        ("disgust", "disgust disgusted disgusting 厌恶 恶心 反感"),
        ("fear", "fear fearful afraid scared frightened 恐惧 害怕 担心"),
    ],
)
def test_table_covers_the_required_wordings(emotion, required):
    assert set(required.split()) <= set(emotion_wordings(emotion))


@pytest.mark.parametrize("wording, emotion", ALL_WORDINGS)
def test_every_wording_normalizes_and_parses_to_its_emotion(wording, emotion):
    assert normalize_emotion(wording) == emotion
    assert parse_emotion(wording) == emotion


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_wordings_split_by_language(emotion):
    english, chinese = emotion_wordings(emotion, "en"), emotion_wordings(emotion, "zh")
    assert english[0] == emotion and all(w.isascii() for w in english)
    assert chinese and not any(w.isascii() for w in chinese)
    assert set(english) | set(chinese) == set(emotion_wordings(emotion))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: emotion_wordings("happy"), "emotion 'happy'"),
        (lambda: emotion_wordings("anger", "fr"), "language 'fr'"),
    ],
)
def test_wordings_reject_unknown_emotion_or_language(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "word, emotion",
    [
        ("Happy", "happiness"),
        ("  ANGRY!  ", "anger"),
        ('"sadness".', "sadness"),
        ("“高兴”。", "happiness"),
        ("（恐惧）", "fear"),
        ("**Neutral**\n", "neutral"),
        ("Surprised?", "surprise"),
        ("madness", None),
        ("fearless", None),
        ("not happy", None),
        ("frustrated", None),
        ("", None),
        ("...", None),
    ],
)
def test_normalize_emotion(word, emotion):
    assert normalize_emotion(word) == emotion


@pytest.mark.parametrize("function", [normalize_emotion, parse_emotion])
def test_non_text_is_a_type_error(function):
    with pytest.raises(TypeError, match="must be a str, got NoneType"):
        function(None)


@pytest.mark.parametrize(
    "text, emotion",
    [
        (STAGE1_ZH, "happiness"),
        (STAGE1_EN, "disgust"),
        ("这条语音的的情感为高兴", "happiness"),
        ("这条语音的情感为高兴", "happiness"),
        ("The emotion of this speech is happiness.", "happiness"),
    ],
)
def test_documented_answers(text, emotion):
    assert parse_emotion(text) == emotion


@pytest.mark.parametrize(
    "text, emotion",
    [
        # The description names one emotion, the conclusion another.
        ("说话者以平静的语调、略带愤怒的声音说道：“你走吧。”通过分析语音特征，推测情绪为悲伤，透露出深深的失落。", "sadness"),
        ("In an angry, loud voice: “Leave.” The emotion was inferred to be sadness, with some anger.", "sadness"),
        # A conclusion wins over mentions after it.
        ("这条语音的情感是惊讶，带有一丝害怕", "surprise"),
        ("Emotion: fear. The speaker sounds happy and excited.", "fear"),
        # Of several conclusions the last wins.
        ("情绪为高兴。修正：情感为厌恶", "disgust"),
        ("The emotion is anger. On reflection, the emotion is neutral.", "neutral"),
        # Other spellings of the templates.
        ("推测情绪为：“恐惧”", "fear"),
        ("情绪：沮丧", "sadness"),
        ("EMOTION: Happy", "happiness"),
        ("The emotion was inferred as **surprise**.", "surprise"),
        ("The speaker's emotional state is calm.", "neutral"),
        ("the emotion of the speaker was furious", "anger"),
        ("情绪为happy", "happiness"),
        ("这条语音的情感为不开心", "sadness"),
        # A marker without an emotion word right after it is no conclusion: the mentions decide.
        ("The emotion is not anger but sadness.", "sadness"),
        ("这条语音的情感为一种难以言说的害怕", "fear"),
    ],
)
def test_conclusion_wins(text, emotion):
    assert parse_emotion(text) == emotion


@pytest.mark.parametrize(
    "text, emotion",
    [
        ("The speaker is not angry but sad.", "sadness"),
        ("不是生气，而是难过", "sadness"),
        ("She sounds sad rather than angry.", "sadness"),
        ("Happy, instead of scared.", "happiness"),
        ("He spoke without fear, calm.", "neutral"),
        ("He isn't afraid; he is joyful.", "happiness"),
        ("He isn’t afraid.", None),
        ("There is no sign of anger.", None),
        ("The voice was not very happy.", None),
        ("Neither happy nor sad.", None),
        ("He never sounded angry.", None),
        ("没有生气，只是平静", "neutral"),
        ("并非惊讶", None),
        ("高兴而非害怕", "happiness"),
        ("他并不生气", None),
        ("不是不开心", None),
        # The negation is beyond reach: more than three words before, or in an earlier clause.
        ("It is not at all surprising that she is happy.", "happiness"),
        ("No doubt, angry.", "anger"),
    ],
)
def test_negated_mentions_do_not_count(text, emotion):
    assert parse_emotion(text) == emotion


@pytest.mark.parametrize(
    "text, emotion",
    [
        ("The speaker sounds happy at first, then sad, and finally angry.", "anger"),
        ("先是惊讶，后来变得害怕", "fear"),
        ("语气中带着悲伤和喜悦", "happiness"),
        ("A mix of disgust and SURPRISE!", "surprise"),
        ("The speaker sounds unhappy.", "sadness"),
        ("他很不开心", "sadness"),
        ("Sadness, and sad.", "sadness"),
        ("sad, then Sadness", "sadness"),
    ],
)
def test_last_plain_mention_wins(text, emotion):
    assert parse_emotion(text) == emotion


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The speaker spoke at a moderate pace with a soft volume.",
        "说话者以缓慢的速度说道：“你好。”",
        "The emotion is unclear.",
        "这条语音的情感为",
        "She was fearless and enjoyed the madness.",
        "He sadly made a joyride; the nomad was unafraid, calmly amazedly gladly.",
        "Happily, the surprising result.",
    ],
)
def test_no_emotion_is_none(text):
    assert parse_emotion(text) is None
