"""Grounded descriptions (paper Table I): templates, the check of generated text, implicit targets."""

import pytest

from c2ser_hf.cot import check_description, description_prompt, implicit_target, template_description
from c2ser_hf.processing.emotion_parsing import EMOTIONS

LEVELS = {"speaking_rate": "Medium", "pitch_hz": "Low", "loudness_lufs": "Low"}
EN_TEXT = "together you sort of get this whole narrative of feedback"
ZH_TEXT = "不知道艾德林小姐有没有给我们准备好吃的点心呢。"


def all_levels():
    for rate in ("Low", "Medium", "High"):
        for pitch in ("Low", "Medium", "High", None):
            for loudness in ("Low", "Medium", "High"):
                yield {"speaking_rate": rate, "pitch_hz": pitch, "loudness_lufs": loudness}


@pytest.mark.parametrize("language,text", [("en", EN_TEXT), ("zh", ZH_TEXT), ("en", ""), ("zh", "")])
def test_every_template_passes_the_check(language, text):
    for levels in all_levels():
        for emotion in EMOTIONS:
            description = template_description(levels, text, emotion, language)
            assert check_description(description, levels, text, emotion, language) == [], description


def test_templates_follow_the_paper_and_the_released_model():
    assert template_description(LEVELS, EN_TEXT, "disgust", "en") == (
        "The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: “" + EN_TEXT + "”. Based on "
        "the analysis of speech characteristics, the emotion was inferred to be disgust.")
    levels = {"speaking_rate": "Low", "pitch_hz": "High", "loudness_lufs": "Medium"}
    assert template_description(levels, ZH_TEXT, "happiness", "zh") == (
        "说话者以缓慢的速度、高昂的语调和中等音量的声音说道：“" + ZH_TEXT + "”通过分析语音特征，推测情绪为高兴。")


def test_the_papers_and_the_released_models_own_examples_pass():
    paper = ("The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: “together you sort of get "
             "this whole narrative of feedback ...” Based on the speech characteristics, the emotion was inferred to be "
             "disgust, revealing a sense of resentment or aversion towards the described situation.")
    assert check_description(paper, LEVELS, EN_TEXT, "disgust", "en") == []
    released = ("说话者以缓慢的速度、高昂的语调和中等音量的声音说道：“" + ZH_TEXT + "”通过分析语音特征，推测情绪为快乐，"
                "透露出一种期待和兴奋的喜悦。")
    levels = {"speaking_rate": "Low", "pitch_hz": "High", "loudness_lufs": "Medium"}
    assert check_description(released, levels, ZH_TEXT, "happiness", "zh") == []
    free = ("Speaking quickly and loudly, with a high pitch, she said \"hi there\"; the emotion is anger.")
    assert check_description(free, {"speaking_rate": "High", "pitch_hz": "High", "loudness_lufs": "High"},
                             "hi there", "anger", "en") == []


@pytest.mark.parametrize("description,problem", [
    ("The speaker spoke at a fast pace, with a low-pitched tone and a soft volume: “" + EN_TEXT + "”. The emotion was "
     "inferred to be disgust.", "speaking_rate: states High, not Medium"),
    ("The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: “" + EN_TEXT + "”. The emotion "
     "was inferred to be anger.", "concludes 'anger', not 'disgust'"),
    ("The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume. The emotion was inferred to be "
     "disgust.", "does not quote the transcript"),
    ("The speaker spoke at a moderate pace with a soft volume: “" + EN_TEXT + "”. The emotion was inferred to be "
     "disgust.", "pitch_hz: states nothing, not Low"),
    ("The speaker spoke at a moderate pace, with a low-pitched tone, a high pitch and a soft volume: “" + EN_TEXT +
     "”. The emotion was inferred to be disgust.", "pitch_hz: states High, Low, not Low"),
    ("说话者以中等的速度、低沉的语调和较小音量的声音说道：“" + EN_TEXT + "”推测情绪为厌恶。", "not in English"),
    ("", "empty"),
    ("The emotion of “I am disgusted” is unclear: “" + EN_TEXT + "”, spoken at a moderate pace with a low-pitched "
     "tone and a soft volume.", "concludes None, not 'disgust'"),
])
def test_failing_descriptions_are_caught(description, problem):
    assert problem in check_description(description, LEVELS, EN_TEXT, "disgust", "en")


def test_chinese_descriptions_must_be_chinese_and_consistent():
    good = template_description(LEVELS, ZH_TEXT, "fear", "zh")
    assert check_description(good, LEVELS, ZH_TEXT, "fear", "zh") == []
    assert "not in Chinese" in check_description(template_description(LEVELS, ZH_TEXT, "fear", "en"), LEVELS, ZH_TEXT,
                                                 "fear", "zh")
    louder = good.replace("较小音量", "较大音量")
    assert "loudness_lufs: states High, not Low" in check_description(louder, LEVELS, ZH_TEXT, "fear", "zh")


def test_implicit_targets_use_the_fixed_vocabulary():
    assert [implicit_target(e, "en") for e in EMOTIONS] == [f"The emotion of this speech is {e}." for e in EMOTIONS]
    assert [implicit_target(e, "zh") for e in EMOTIONS] == [
        f"这条语音的情感为{w}" for w in ("生气", "高兴", "中性", "悲伤", "惊讶", "厌恶", "恐惧")]


def test_prompt_is_table_one_filled_in():
    prompt = description_prompt(LEVELS, EN_TEXT, "disgust", "en")
    assert prompt.startswith("Based on the provided speech features—including a speaking rate of moderate, a volume "
                             "level of soft, and a pitch of low-pitched—along with the text content")
    assert f"'{EN_TEXT}'" in prompt and "the emotion disgust" in prompt
    assert template_description(LEVELS, EN_TEXT, "disgust", "en") in prompt
    assert "语速中等、音量较小、音调低沉" in description_prompt(LEVELS, ZH_TEXT, "disgust", "zh")
