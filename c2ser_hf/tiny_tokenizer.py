"""A tiny byte-level Qwen2 tokenizer trained offline on C2SER-style text, for tests and tiny random models."""

from transformers import Qwen2Tokenizer

SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|speech|>"]  # plus <|endoftext|>, Qwen's eos and our pad

# Prompts and answers in the shapes C2SER reads and writes (docs/fidelity.md#prompts), every wording of the seven
# emotions in both languages, and everyday sentences so that ordinary words get merges too.
CORPUS = [
    "Please consider the speaking style, content, and directly provide the speaker's emotion in this speech.",
    "Please describe the speaking style, content, and the speaker's emotional state of this speech.",
    "The emotion of this speech is happiness.",
    "The emotion of this speech is anger.",
    "The emotion of this speech is neutral.",
    "The emotion of this speech is sadness.",
    "The emotion of this speech is surprise.",
    "The emotion of this speech is disgust.",
    "The emotion of this speech is fear.",
    "这条语音的情感为高兴",
    "这条语音的情感为生气",
    "这条语音的情感为中性",
    "这条语音的情感为难过",
    "这条语音的情感为惊讶",
    "这条语音的情感为厌恶",
    "这条语音的情感为害怕",
    "The speaker spoke at a moderate pace, with a low-pitched tone and a soft volume: \"I can't believe it.\" "
    "Based on the speech features, the emotion was inferred to be disgust, showing clear dislike.",
    "The speaker spoke quickly, with a high-pitched tone and a loud volume: \"We won the game!\" "
    "Based on the speech features, the emotion was inferred to be happiness, full of joy.",
    "说话者以缓慢的速度、高昂的语调和中等音量的声音说道：“不知道艾德林小姐有没有给我们准备好吃的点心呢。”"
    "通过分析语音特征，推测情绪为快乐，透露出一种期待和兴奋的喜悦。",
    "说话者以较快的速度、低沉的语调和较大音量的声音说道：“你怎么又迟到了！”通过分析语音特征，推测情绪为愤怒。",
    "anger angry 生气 happiness happy 高兴 快乐 开心 neutral 中性 sadness sad 难过 悲伤",
    "surprise surprised 惊讶 disgust 厌恶 fear 害怕 恐惧",
    "The weather is lovely today, so we are going for a walk in the park.",
    "I have no idea where I left my keys this morning.",
    "Could you please call me back when you get home?",
    "She was so surprised when she opened the door and saw all her friends.",
    "My dog is afraid of thunder, and he hides under the bed.",
    "今天天气很好，我们去公园散步吧。",
    "我不知道钥匙放在哪里了。",
    "你回家以后给我打个电话好吗？",
]


def build_tiny_qwen2_tokenizer(vocab_size: int = 512) -> Qwen2Tokenizer:
    """Train a Qwen2 (byte-level BPE) tokenizer of at most `vocab_size` entries on `CORPUS`, without downloads.

    `<|endoftext|>` is eos, pad and unk as in Qwen2; `<|im_start|>`, `<|im_end|>` and `<|speech|>` are special
    tokens. Any text encodes (the 256 byte symbols are in the vocabulary) and decodes back unchanged.
    """
    tokenizer = Qwen2Tokenizer().train_new_from_iterator(
        [CORPUS], vocab_size, new_special_tokens=SPECIAL_TOKENS, show_progress=False
    )
    # Generation batches are left-padded; in init_kwargs so that save_pretrained keeps it.
    tokenizer.padding_side = "left"
    tokenizer.init_kwargs["padding_side"] = "left"
    return tokenizer


__all__ = ["CORPUS", "SPECIAL_TOKENS", "build_tiny_qwen2_tokenizer"]
