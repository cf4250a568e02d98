"""Convert the official C2SER release (wenet `C2SER_llm.pt` + fairseq Emotion2Vec-S) to a C2SER model folder.

Key names, shapes and traps: UPSTREAM §3 and §4.8. Every source tensor must be used or deliberately dropped (and
reported), every model tensor set, shapes must agree, or the conversion fails naming the keys.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoConfig, AutoTokenizer

from .checkpoint_io import atomic_output_dir, load_pickled_checkpoint
from .convert_emotion2vec import ConversionError, config_from_checkpoint, map_state_dict, split_checkpoint
from .modeling import C2SERConfig, C2SERForConditionalGeneration
from .processing import C2SERProcessor

LLM = "llama_model.base_model.model."
SPEECH_BOS_EOS_ROWS = (4097, 4098)  # `speech_token_emded` rows the released model uses (UPSTREAM §1.8)
DEFAULT_BASE_MODEL = "Qwen/Qwen2-7B"
DEFAULT_LORA_ALPHA = 32  # the released LoraConfig (UPSTREAM §1.10); the checkpoint stores only the rank
WENET_BLOCK = {
    "self_attn.linear_q": "self_attn.q_proj",
    "self_attn.linear_k": "self_attn.k_proj",
    "self_attn.linear_v": "self_attn.v_proj",
    "self_attn.linear_out": "self_attn.out_proj",
    "norm1": "self_attn_layer_norm",
    "norm2": "final_layer_norm",
    "feed_forward.w_1": "fc1",
    "feed_forward.w_2": "fc2",
}
DROPPED = {
    "embed_tokens.weight": "alias of the LLM's embed_tokens",
    "lm_head.weight": "alias of the LLM's lm_head",
    "ln_speech.weight": "unused LayerNorm",
    "ln_speech.bias": "unused LayerNorm",
    "speaker_head.weight": "unused head",
    "speaker_head.bias": "unused head",
}


@dataclass
class C2SERConversionReport:
    tensors: int
    dropped: dict[str, str] = field(default_factory=dict)
    lora_merged: int = 0


def _count(state_dict: dict, pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for key in state_dict if (m := regex.fullmatch(key))})


def _wenet_encoder_keys(state_dict, source: str, target: str, layers: int, final_norm: str) -> dict[str, str]:
    """wenet TransformerEncoder block keys → HF encoder-layer keys (UPSTREAM §3.3). Whisper's key projection has no
    bias; the link's has one, so a k bias maps where the checkpoint has it."""
    mapping = {}
    for n in range(layers):
        for old, new in WENET_BLOCK.items():
            for kind in ("weight", "bias"):
                key = f"{source}encoders.{n}.{old}.{kind}"
                if key in state_dict or not (old.endswith("linear_k") and kind == "bias"):
                    mapping[key] = f"{target}layers.{n}.{new}.{kind}"
    mapping.update({f"{source}after_norm.{kind}": f"{target}{final_norm}.{kind}" for kind in ("weight", "bias")})
    return mapping


def c2ser_config_from_checkpoint(state_dict: dict, text_config, acoustic_config) -> C2SERConfig:
    """The released architecture, with sizes read from the tensors (a synthetic small checkpoint converts too)."""
    conv0 = state_dict["encoder.embed.conv.0.weight"]
    whisper_layers = _count(state_dict, r"encoder\.encoders\.(\d+)\.norm1\.weight")
    link = state_dict["speech_transformer.embed.out.0.weight"]
    return C2SERConfig(
        audio_config={
            "model_type": "whisper",
            "d_model": conv0.shape[0],
            "num_mel_bins": conv0.shape[1],
            "encoder_layers": whisper_layers,
            "encoder_attention_heads": max(conv0.shape[0] // 64, 1),
            "encoder_ffn_dim": state_dict["encoder.encoders.0.feed_forward.w_1.weight"].shape[0],
            "max_source_positions": state_dict["encoder.embed.pos_enc.pe"].shape[1],
            "dropout": 0.1,
            "activation_dropout": 0.1,
            "attention_dropout": 0.0,
        },
        acoustic_config={**acoustic_config.to_dict(), "utterance_source": "first_frames"},
        text_config=text_config.to_dict(),
        downsample_rate=2 ** (_count(state_dict, r"down_sample_2\.conv\.(\d+)\.weight") - 1),
        link_hidden_size=link.shape[0],
        link_layers=_count(state_dict, r"speech_transformer\.encoders\.(\d+)\.norm1\.weight"),
        link_ffn_dim=state_dict["speech_transformer.encoders.0.feed_forward.w_1.weight"].shape[0],
        link_max_positions=state_dict["speech_transformer.embed.pos_enc.pe"].shape[1],
        acoustic_token_source="first_frames",
    )


def map_c2ser_state_dict(
    state_dict: dict, config: C2SERConfig, lora_alpha: float = DEFAULT_LORA_ALPHA, llm_dtype=torch.bfloat16
):
    """Target tensors for `C2SERForConditionalGeneration` (LoRA merged into the base weights in fp32, then stored in
    `llm_dtype`), the dropped source keys with the reason, and the number of merged LoRA pairs."""
    whisper_layers = config.audio_config.encoder_layers
    mapping = {
        "encoder.embed.conv.0.weight": "model.audio_tower.conv1.weight",
        "encoder.embed.conv.0.bias": "model.audio_tower.conv1.bias",
        "encoder.embed.conv.2.weight": "model.audio_tower.conv2.weight",
        "encoder.embed.conv.2.bias": "model.audio_tower.conv2.bias",
        "speech_transformer.embed.out.0.weight": "model.link.embed.0.weight",
        "speech_transformer.embed.out.0.bias": "model.link.embed.0.bias",
        "speech_transformer.embed.out.1.weight": "model.link.embed.1.weight",
        "speech_transformer.embed.out.1.bias": "model.link.embed.1.bias",
        "speech_llama_proj.weight": "model.projector.weight",
        "speech_llama_proj.bias": "model.projector.bias",
        f"{LLM}lm_head.weight": "lm_head.weight",
    }
    mapping.update(_wenet_encoder_keys(state_dict, "encoder.", "model.audio_tower.", whisper_layers, "layer_norm"))
    mapping.update(_wenet_encoder_keys(state_dict, "speech_transformer.", "model.link.", config.link_layers, "after_norm"))
    for index in range(1, 3 * (int(config.downsample_rate).bit_length()), 3):
        for kind in ("weight", "bias"):
            mapping[f"down_sample_2.conv.{index}.{kind}"] = f"model.downsampler.conv.{index}.{kind}"

    target, used, absent = {}, set(), []
    for source, dest in mapping.items():
        if source not in state_dict:
            absent.append(source)
            continue
        target[dest] = state_dict[source]
        used.add(source)
    # the checkpoint's own sinusoid tables (bf16-rounded) are kept, not recomputed (UPSTREAM §1.13)
    for source, dest, squeeze in (
        ("encoder.embed.pos_enc.pe", "model.audio_tower.embed_positions.weight", True),
        ("speech_transformer.embed.pos_enc.pe", "model.link.position_table", False),
    ):
        if source in state_dict:
            target[dest] = state_dict[source][0] if squeeze else state_dict[source]
            used.add(source)
        else:
            absent.append(source)
    table = state_dict.get("speech_token_emded.weight")
    if table is None or table.shape[0] <= max(SPEECH_BOS_EOS_ROWS):
        absent.append("speech_token_emded.weight (rows 4097 and 4098)")
    else:
        target["model.speech_boundary.weight"] = table[list(SPEECH_BOS_EOS_ROWS)]
        used.add("speech_token_emded.weight")

    merged = 0
    for key, tensor in state_dict.items():
        if not key.startswith(LLM + "model.") or ".lora_" in key:
            continue
        # peft >= 0.7 names an adapted module's weights `<module>.base_layer.*`, older peft `<module>.*`
        plain = key.replace(".base_layer.", ".")
        lora_a, lora_b = (plain.replace(".weight", f".lora_{x}.default.weight") for x in "AB")
        if plain.endswith(".weight") and lora_a in state_dict and lora_b in state_dict:
            a, b = state_dict[lora_a].float(), state_dict[lora_b].float()
            tensor = (tensor.float() + (lora_alpha / a.shape[0]) * (b @ a)).to(llm_dtype)
            used.update((lora_a, lora_b))
            merged += 1
        target["model.language_model." + plain[len(LLM + "model.") :]] = tensor
        used.add(key)

    dropped = {key: reason for key, reason in DROPPED.items() if key in state_dict}
    if "speech_token_emded.weight" in used:
        dropped["speech_token_emded.weight"] = f"only rows {SPEECH_BOS_EOS_ROWS} (speech BOS/EOS) are used"
    for alias, original in (("embed_tokens.weight", f"{LLM}model.embed_tokens.weight"), ("lm_head.weight", f"{LLM}lm_head.weight")):
        if alias in state_dict and original in state_dict and not torch.equal(state_dict[alias], state_dict[original]):
            raise ConversionError(f"{alias} should alias {original} but differs from it")
    leftovers = sorted(set(state_dict) - used - set(dropped))
    if leftovers or absent:
        raise ConversionError(
            f"checkpoint does not match C2SER: {len(leftovers)} source tensor(s) map to nothing: {leftovers[:20]}; "
            f"{len(absent)} expected source tensor(s) are absent: {sorted(absent)[:20]}"
        )
    return target, dropped, merged


def convert_c2ser(
    checkpoint: str | os.PathLike,
    emotion2vec: str | os.PathLike,
    out_dir: str | os.PathLike,
    base_model: str | os.PathLike = DEFAULT_BASE_MODEL,
    llm_dtype: torch.dtype = torch.bfloat16,
    lora_alpha: float = DEFAULT_LORA_ALPHA,
    overwrite: bool = False,
) -> C2SERConversionReport:
    """Merged conversion: one self-contained model folder (LoRA merged into the LLM) plus its processor. The text
    config and tokenizer come from `base_model` (a folder or Hub id laid out like `Qwen/Qwen2-7B`)."""
    state_dict = load_pickled_checkpoint(checkpoint, mmap=True)
    if not isinstance(state_dict, dict) or "encoder.embed.conv.0.weight" not in state_dict:
        raise ConversionError(f"{checkpoint}: not a C2SER wenet checkpoint (no encoder.embed.conv.0.weight)")
    e2v_state, e2v_cfg, _ = split_checkpoint(load_pickled_checkpoint(emotion2vec))
    acoustic_config = config_from_checkpoint(e2v_state, (e2v_cfg or {}).get("model"))
    text_config = AutoConfig.from_pretrained(base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_model)

    processor = C2SERProcessor(tokenizer=tokenizer, num_acoustic_tokens=acoustic_config.num_extra_tokens)
    config = c2ser_config_from_checkpoint(state_dict, text_config, acoustic_config)
    config.speech_token_id = processor.speech_token_id
    if config.downsample_rate != processor.downsample_rate:
        processor.downsample_rate = config.downsample_rate

    target, dropped, merged = map_c2ser_state_dict(state_dict, config, lora_alpha, llm_dtype)
    acoustic, e2v_dropped = map_state_dict(e2v_state, acoustic_config, prefix="model.acoustic_tower.")
    target.update(acoustic)
    dropped.update({f"emotion2vec:{key}": "pretraining-only" for key in e2v_dropped})

    with torch.device("meta"):
        model = C2SERForConditionalGeneration(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(target))
    unexpected = sorted(set(target) - set(expected))
    wrong = [f"{k}: {tuple(target[k].shape)} vs {tuple(expected[k].shape)}" for k in set(target) & set(expected)
             if tuple(target[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise ConversionError(f"model tensors not set: {missing[:20]}; not in the model: {unexpected[:20]}; "
                              f"shape mismatches: {wrong[:20]}")
    # encoders, link and projection run in fp32 (DESIGN "Fidelity decisions"); the LLM keeps `llm_dtype`
    for key, tensor in target.items():
        target[key] = tensor.to(llm_dtype if key.startswith(("model.language_model.", "lm_head.")) else torch.float32)
    model.load_state_dict(target, strict=True, assign=True)
    with atomic_output_dir(out_dir, overwrite=overwrite) as staging:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
    return C2SERConversionReport(tensors=len(state_dict), dropped=dropped, lora_merged=merged)
