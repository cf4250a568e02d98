"""Named C2SER configurations: `full` (the released model's shapes), `small` (benchmarks), `tiny` (tests, demos)."""

SIZES = ("tiny", "small", "full")

_REDUCED = {
    "tiny": dict(
        audio=dict(d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=256),
        acoustic=dict(
            hidden_size=32,
            num_hidden_layers=2,
            num_prenet_layers=1,
            num_attention_heads=4,
            intermediate_size=64,
            conv_dim=[16] * 7,
            num_conv_pos_embeddings=2,
            conv_pos_kernel_size=5,
            num_conv_pos_embedding_groups=4,
        ),
        text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
        link=dict(hidden_size=64, num_hidden_layers=2, intermediate_size=96, max_position_embeddings=500),
    ),
    # an LLM of ~54 M parameters (with the 512-token tiny tokenizer): big enough that batching pays as at full size
    "small": dict(
        audio=dict(d_model=128, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=512),
        acoustic=dict(
            hidden_size=64,
            num_hidden_layers=2,
            num_prenet_layers=1,
            num_attention_heads=4,
            intermediate_size=128,
            conv_dim=[32] * 7,
            num_conv_pos_embeddings=2,
            conv_pos_kernel_size=5,
            num_conv_pos_embedding_groups=4,
        ),
        text=dict(hidden_size=640, intermediate_size=2048, num_hidden_layers=11, num_attention_heads=10, num_key_value_heads=2),
        link=dict(hidden_size=128, num_hidden_layers=2, intermediate_size=256, max_position_embeddings=1000),
    ),
}


def emotion2vec_s_config(size: str = "full", **overrides):
    """An Emotion2VecSConfig of the named size: `full` is emotion2vec_base / Emotion2Vec-S, the reduced sizes are the
    acoustic towers of the reduced C2SER sizes."""
    from .modeling.configuration_emotion2vec_s import Emotion2VecSConfig

    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    values = {} if size == "full" else dict(_REDUCED[size]["acoustic"])
    return Emotion2VecSConfig(**{**values, **overrides})


def c2ser_config(size: str = "full", vocab_size: int | None = None, speech_token_id: int | None = None,
                 eos_token_id: int | None = None, **overrides):
    """A C2SERConfig of the named size; the token ids come from the tokenizer the model will be paired with."""
    from .modeling.configuration_c2ser import QWEN2_7B, C2SERConfig

    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    # a text_config dict replaces the composite config's defaults, so `full` restates Qwen2-7B's; the reduced sizes
    # keep its norm and rope settings
    text = {"model_type": "qwen2", **QWEN2_7B}
    if size != "full":
        text = {"model_type": "qwen2", "rms_norm_eps": QWEN2_7B["rms_norm_eps"],
                "rope_parameters": QWEN2_7B["rope_parameters"], "tie_word_embeddings": False,
                "max_position_embeddings": 4096, **_REDUCED[size]["text"]}
    if vocab_size is not None:
        text["vocab_size"] = vocab_size
    if eos_token_id is not None:
        text.update(eos_token_id=eos_token_id, bos_token_id=eos_token_id, pad_token_id=eos_token_id)
    values = {"text_config": text}
    if size != "full":
        values["audio_config"] = {"model_type": "whisper", **_REDUCED[size]["audio"]}
        values["acoustic_config"] = {**_REDUCED[size]["acoustic"], "utterance_source": "first_frames"}
        values["link_config"] = _REDUCED[size]["link"]
    if speech_token_id is not None:
        values["speech_token_id"] = speech_token_id
    values.update(overrides)
    return C2SERConfig(**values)
