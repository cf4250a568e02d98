"""Configuration of C2SER: Whisper encoder + Emotion2Vec-S + connector + Qwen2 (docs/architecture.md#data-flow)."""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_emotion2vec_s import UTTERANCE_SOURCES, Emotion2VecSConfig

# whisper-medium's encoder, as the released model uses it (docs/fidelity.md#whisper)
WHISPER_MEDIUM_ENCODER = {
    "d_model": 1024,
    "encoder_layers": 24,
    "encoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "num_mel_bins": 80,
    "max_source_positions": 1500,
    "activation_function": "gelu",
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "activation_dropout": 0.1,
    "encoder_layerdrop": 0.0,
    "decoder_layers": 1,
    "decoder_attention_heads": 16,
    "decoder_ffn_dim": 16,
}
# Qwen/Qwen2-7B, the base (not Instruct) model of the released checkpoint (docs/fidelity.md#language-model)
QWEN2_7B = {
    "vocab_size": 152064,
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
    "tie_word_embeddings": False,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
}
# `link_config` fields as config.json files before the sub-config stored them, flat on C2SERConfig
LEGACY_LINK_FIELDS = {
    "link_hidden_size": "hidden_size",
    "link_layers": "num_hidden_layers",
    "link_attention_heads": "num_attention_heads",
    "link_ffn_dim": "intermediate_size",
    "link_activation": "hidden_act",
    "link_dropout": "dropout",
    "link_max_positions": "max_position_embeddings",
}


@strict
class C2SERLinkConfig(PreTrainedConfig):
    r"""
    The connector between the speech encoders and the language model (the released `speech_transformer`,
    docs/fidelity.md#link): Linear + LayerNorm, x·√d plus a sinusoid table, pre-LN transformer blocks, final
    LayerNorm. Defaults are the released model's.

    Args:
        hidden_size (`int`): width (1024, Whisper-medium's; the 768-d acoustic tokens are zero-padded to it).
        max_position_embeddings (`int`): rows of the sinusoid table, the longest speech block (5000).
        dropout (`float`): dropout after the embedding, after attention and inside the FFN (0.1).
        num_hidden_layers (`int`): transformer blocks (4).
        num_attention_heads (`int`): attention heads (4).
        intermediate_size (`int`): FFN width (2560).
        hidden_act (`str`): FFN activation (`"relu"`).
    """

    model_type = "c2ser_link"

    hidden_size: int = 1024
    max_position_embeddings: int = 5000
    dropout: float | int = 0.1
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 2560
    hidden_act: str = "relu"


@strict
class C2SERConfig(PreTrainedConfig):
    r"""
    C2SER: speech → [Emotion2Vec-S acoustic tokens ; Whisper encoder → causal conv downsampler] → link transformer →
    projection → Qwen2, with learned speech-BOS/EOS vectors around the speech block.

    Args:
        audio_config (`WhisperConfig` or `dict`): the Whisper encoder (whisper-medium by default; decoder fields unused).
        acoustic_config (`Emotion2VecSConfig` or `dict`): Emotion2Vec-S.
        text_config (`Qwen2Config` or `dict`): the language model (Qwen2-7B by default).
        link_config (`C2SERLinkConfig` or `dict`): the connector transformer. Configs written before it existed hold
            its fields flat as `link_hidden_size`, `link_layers`, ...; they load into it.
        downsample_rate (`int`): total stride of the causal conv downsampler after Whisper (4: 50 Hz → 12.5 Hz).
        acoustic_token_source (`str`): which Emotion2Vec-S vectors become acoustic tokens. The released model uses
            `"first_frames"` (the first 10 frame vectors, an upstream slicing bug, docs/fidelity.md#acoustic-tokens);
            `"extra_tokens"` gives the 10 learned utterance tokens, `"mean"` one frame-mean token.
        speech_token_id (`int`): id of the speech placeholder the processor expands; each item's placeholders are
            replaced by its speech embeddings.
        base_model_name_or_path (`str`, *optional*): set in "light" checkpoints, which store only what C2SER trained
            plus a LoRA adapter: the frozen language model is loaded from this base model and the adapter merged.
    """

    model_type = "c2ser"
    sub_configs_defaults = {
        "audio_config": SubConfigSpec(config_class=AutoConfig, model_type="whisper", init_kwargs=WHISPER_MEDIUM_ENCODER),
        "acoustic_config": SubConfigSpec(config_class=Emotion2VecSConfig),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2", init_kwargs=QWEN2_7B),
        "link_config": SubConfigSpec(config_class=C2SERLinkConfig),
    }

    audio_config: dict | PreTrainedConfig | None = None
    acoustic_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    link_config: dict | PreTrainedConfig | None = None
    downsample_rate: int = 4
    acoustic_token_source: str = "first_frames"
    speech_token_id: int = 151646
    base_model_name_or_path: str | None = None

    def __post_init__(self, **kwargs):
        legacy = {LEGACY_LINK_FIELDS[key]: kwargs.pop(key) for key in list(kwargs) if key in LEGACY_LINK_FIELDS}
        if legacy:
            if self.link_config is not None:
                raise ValueError(f"give the connector's settings in link_config only, not also as {sorted(legacy)}")
            self.link_config = legacy
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        """Part of `@strict` validation: reject values the model cannot be built from."""
        rate = self.downsample_rate
        if rate < 1 or rate & (rate - 1):
            raise ValueError(f"downsample_rate must be a power of two, got {rate}")
        if self.acoustic_token_source not in UTTERANCE_SOURCES:
            raise ValueError(
                f"acoustic_token_source must be one of {UTTERANCE_SOURCES}, got {self.acoustic_token_source!r}"
            )

    @property
    def num_acoustic_tokens(self) -> int:
        return 1 if self.acoustic_token_source == "mean" else self.acoustic_config.num_extra_tokens


__all__ = ["C2SERConfig", "C2SERLinkConfig"]
