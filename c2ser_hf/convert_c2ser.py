"""Convert the official C2SER release (wenet `C2SER_llm.pt` + fairseq Emotion2Vec-S) to a C2SER model folder.

Key names, shapes and traps: docs/fidelity.md#conversion. Every source tensor must be used or deliberately dropped
(and reported), every model tensor set, shapes must agree, or the conversion fails naming the keys.
"""

import json
import math
import os
from collections.abc import Callable
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import torch
from huggingface_hub import snapshot_download
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoTokenizer

from .checkpoint_io import load_pickled_checkpoint
from .output_folder import atomic_output_dir, check_output_dir
from .convert_emotion2vec import (
    ConversionError,
    absence_error,
    check_covers_model,
    config_from_checkpoint,
    layer_count,
    map_state_dict,
    matching_indices,
    split_checkpoint,
)
from .modeling import C2SERConfig, C2SERForConditionalGeneration
from .model_card import write_model_card
from .modeling.light_checkpoint import LANGUAGE_MODEL_KEYS, merge_lora_weight, write_adapter, write_model_files
from .processing import C2SERProcessor

LLM = "llama_model.base_model.model."
SPEECH_BOS_EOS_ROWS = (4097, 4098)  # `speech_token_emded` rows the released model uses (docs/fidelity.md#conversion)
DEFAULT_BASE_MODEL = "Qwen/Qwen2-7B"
DEFAULT_LORA_ALPHA = 32  # the released LoraConfig (docs/fidelity.md#lora); the checkpoint stores only the rank
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


@dataclass(frozen=True)
class Recipe:
    """How to make one target tensor from source tensors: kept as keys, not tensors, so the writer can fetch them
    shard by shard from a fresh memory map and let each shard's pages go once it is written."""

    sources: tuple[str, ...]
    build: Callable
    shape: tuple[int, ...]
    dtype: torch.dtype

    def make(self, state_dict: dict) -> torch.Tensor:
        return self.build(*(state_dict[source] for source in self.sources))


def _same(tensor):
    return tensor


def _first(tensor):
    return tensor[0]


def _bos_eos_rows(table):
    return table[list(SPEECH_BOS_EOS_ROWS)]


def _merged(scale: float, dtype):
    def merge(base, lora_a, lora_b):
        return merge_lora_weight(base, lora_a, lora_b, scale, dtype)

    return merge


@dataclass
class C2SERConversionReport:
    tensors: int
    dropped: dict[str, str] = field(default_factory=dict)
    lora_merged: int = 0
    lora_adapter: int = 0


def _wenet_encoder_keys(state_dict, source: str, target: str, layers: int, final_norm: str) -> dict[str, str]:
    """wenet TransformerEncoder block keys → HF encoder-layer keys (docs/fidelity.md#conversion). Whisper's key
    projection has no bias; the link's has one, so a k bias maps where the checkpoint has it."""
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

    def tensor(key):
        if key not in state_dict:
            raise ConversionError(f"checkpoint has no tensor {key!r}, which the C2SER checkpoint has")
        return state_dict[key]

    conv0 = tensor("encoder.embed.conv.0.weight")
    whisper_layers = layer_count(state_dict, "encoder.encoders.")
    link = tensor("speech_transformer.embed.out.0.weight")
    return C2SERConfig(
        audio_config={
            "model_type": "whisper",
            "d_model": conv0.shape[0],
            "num_mel_bins": conv0.shape[1],
            "encoder_layers": whisper_layers,
            # no head count is stored: whisper-medium's 64-wide heads (1024 / 16, docs/fidelity.md#whisper)
            "encoder_attention_heads": max(conv0.shape[0] // 64, 1),
            "encoder_ffn_dim": tensor("encoder.encoders.0.feed_forward.w_1.weight").shape[0],
            "max_source_positions": tensor("encoder.embed.pos_enc.pe").shape[1],
            "dropout": 0.1,
            "activation_dropout": 0.1,
            "attention_dropout": 0.0,
        },
        acoustic_config={**acoustic_config.to_dict(), "utterance_source": "first_frames"},
        text_config=text_config.to_dict(),
        link_config={
            "hidden_size": link.shape[0],
            "num_hidden_layers": layer_count(state_dict, "speech_transformer.encoders."),
            "intermediate_size": tensor("speech_transformer.encoders.0.feed_forward.w_1.weight").shape[0],
            "max_position_embeddings": tensor("speech_transformer.embed.pos_enc.pe").shape[1],
        },
        # conv layers sit at indices 1, 4, 7, … of the Sequential (ReLU and padding between them)
        downsample_rate=2 ** (len(matching_indices(state_dict, r"down_sample_2\.conv\.(\d+)\..+")) - 1),
        acoustic_token_source="first_frames",
    )


def map_c2ser_state_dict(
    state_dict: dict,
    config: C2SERConfig,
    lora_alpha: float = DEFAULT_LORA_ALPHA,
    llm_dtype=torch.bfloat16,
    merge_lora: bool = True,
):
    """Recipes for the target tensors of `C2SERForConditionalGeneration`, the dropped source keys with the reason,
    and the LoRA matrices: merged into the base weights in fp32 then stored in `llm_dtype` (returned adapter
    empty), or left out of the base weights and returned as a peft adapter state dict."""
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
    mapping.update(_wenet_encoder_keys(state_dict, "speech_transformer.", "model.link.",
                                       config.link_config.num_hidden_layers, "after_norm"))
    for index in range(1, 3 * (int(config.downsample_rate).bit_length()), 3):
        for kind in ("weight", "bias"):
            mapping[f"down_sample_2.conv.{index}.{kind}"] = f"model.downsampler.conv.{index}.{kind}"

    target, used, absent = {}, set(), []
    for source, dest in mapping.items():
        if source not in state_dict:
            absent.append(source)
            continue
        target[dest] = Recipe((source,), _same, tuple(state_dict[source].shape), state_dict[source].dtype)
        used.add(source)
    # the checkpoint's own sinusoid tables (bf16-rounded) are kept, not recomputed (docs/fidelity.md#precision)
    for source, dest, squeeze in (
        ("encoder.embed.pos_enc.pe", "model.audio_tower.embed_positions.weight", True),
        ("speech_transformer.embed.pos_enc.pe", "model.link.position_table", False),
    ):
        if source in state_dict:
            shape, dtype = tuple(state_dict[source].shape), state_dict[source].dtype
            target[dest] = Recipe((source,), _first, shape[1:], dtype) if squeeze else Recipe((source,), _same, shape, dtype)
            used.add(source)
        else:
            absent.append(source)
    table = state_dict.get("speech_token_emded.weight")
    if table is None or table.shape[0] <= max(SPEECH_BOS_EOS_ROWS):
        absent.append("speech_token_emded.weight (rows 4097 and 4098)")
    else:
        target["model.speech_boundary.weight"] = Recipe(
            ("speech_token_emded.weight",), _bos_eos_rows, (len(SPEECH_BOS_EOS_ROWS), table.shape[1]), table.dtype
        )
        used.add("speech_token_emded.weight")

    adapter = {}
    for key in state_dict:
        # each LoRA pair is complete and has its base weight (`<module>.base_layer.weight` in peft >= 0.7)
        if key.startswith(LLM) and ".lora_" in key:
            module = key.split(".lora_")[0]
            pair = [f"{module}.lora_{x}.default.weight" for x in "AB"]
            absent += [k for k in pair if k not in state_dict]
            if f"{module}.weight" not in state_dict and f"{module}.base_layer.weight" not in state_dict:
                absent.append(f"{module}.base_layer.weight")
    for key, tensor in state_dict.items():
        if not key.startswith(LLM + "model.") or ".lora_" in key:
            continue
        # peft >= 0.7 names an adapted module's weights `<module>.base_layer.*`, older peft `<module>.*`
        plain = key.replace(".base_layer.", ".")
        lora_a, lora_b = (plain.replace(".weight", f".lora_{x}.default.weight") for x in "AB")
        recipe = Recipe((key,), _same, tuple(tensor.shape), llm_dtype)
        if plain.endswith(".weight") and lora_a in state_dict and lora_b in state_dict:
            if merge_lora:
                scale = lora_alpha / state_dict[lora_a].shape[0]
                recipe = Recipe((key, lora_a, lora_b), _merged(scale, llm_dtype), tuple(tensor.shape), llm_dtype)
            else:  # peft's adapter file naming: no `llama_model.` prefix, no adapter name
                for source in (lora_a, lora_b):
                    adapter[source[len("llama_model.") :].replace(".default.", ".")] = state_dict[source]
            used.update((lora_a, lora_b))
        target["model.language_model." + plain[len(LLM + "model.") :]] = recipe
        used.add(key)

    dropped = {key: reason for key, reason in DROPPED.items() if key in state_dict}
    if "speech_token_emded.weight" in used:
        dropped["speech_token_emded.weight"] = f"only rows {SPEECH_BOS_EOS_ROWS} (speech BOS/EOS) are used"
    for alias, original in (("embed_tokens.weight", f"{LLM}model.embed_tokens.weight"), ("lm_head.weight", f"{LLM}lm_head.weight")):
        if alias in state_dict and original in state_dict and not torch.equal(state_dict[alias], state_dict[original]):
            raise ConversionError(f"{alias} should alias {original} but differs from it")
    leftovers = sorted(set(state_dict) - used - set(dropped))
    if absent:  # a LoRA matrix left over because its partner is missing is not news
        leftovers = [key for key in leftovers if ".lora_" not in key]
    if leftovers or absent:
        raise absence_error("C2SER", absent, leftovers)
    return target, dropped, adapter


def verify_base_model(target: dict, checkpoint, base_model: str | os.PathLike, cache_dir=None,
                      chunk_bytes: int = 5 * 10**8) -> None:
    """The checkpoint's frozen LLM must equal the base model that a light checkpoint will load in its place. Both
    files are mapped afresh for every `chunk_bytes` of tensors compared, so only that much stays resident."""
    base_dir = Path(base_model)
    if not base_dir.is_dir():
        base_dir = Path(snapshot_download(str(base_model), cache_dir=cache_dir, allow_patterns=["*.safetensors", "*.json"]))
    files = sorted(base_dir.glob("*.safetensors"))
    if not files:
        raise ConversionError(f"{base_model}: no safetensors weights to verify the checkpoint's LLM against")
    chunks = []
    for file in files:
        with safe_open(file, "pt") as handle:
            keys = [k for k in handle.keys() if _as_target(k) in target]
        for key in keys:
            size = math.prod(target[_as_target(key)].shape) * 2  # bf16, as the release stores the LLM
            if not chunks or chunks[-1][0] != file or chunks[-1][2] + size > chunk_bytes:
                chunks.append([file, [], 0])
            chunks[-1][1].append(key)
            chunks[-1][2] += size
    seen, differ = set(), []
    for file, keys, _ in chunks:
        state_dict = load_pickled_checkpoint(checkpoint, mmap=True)
        with safe_open(file, "pt") as handle:
            for key in keys:
                frozen = target[_as_target(key)].make(state_dict)
                seen.add(_as_target(key))
                if not torch.equal(handle.get_tensor(key).to(frozen.dtype), frozen):
                    differ.append(key)
        del state_dict
    llm_keys = {k for k in target if k.startswith(LANGUAGE_MODEL_KEYS)}
    if differ or seen != llm_keys:
        raise ConversionError(f"the checkpoint's frozen LLM differs from {base_model}: {differ[:10]}; "
                              f"absent from the base: {sorted(llm_keys - seen)[:10]}")


def _as_source(target_key: str) -> str:
    """The checkpoint key of a language-model tensor (other tensors are named as the model names them)."""
    prefix = "model.language_model."
    return f"{LLM}model.{target_key[len(prefix):]}" if target_key.startswith(prefix) else target_key


def _as_target(base_key: str) -> str:
    """A base Qwen2ForCausalLM key as C2SER names it."""
    return "model.language_model." + base_key[len("model.") :] if base_key.startswith("model.") else base_key


def write_weights(target: dict, checkpoint, folder: Path, max_shard_bytes: int) -> list[str]:
    """Write the target tensors, each in its recipe's dtype, as safetensors shards (transformers' names and index).
    Each shard is made from a fresh memory map of the checkpoint, written, then let go: memory stays near one shard,
    not the whole model."""

    def nbytes(key):
        return math.prod(target[key].shape) * target[key].dtype.itemsize

    shards, current, size = [], [], 0
    for key in target:
        if current and size + nbytes(key) > max_shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(key)
        size += nbytes(key)
    shards.append(current)
    names = (["model.safetensors"] if len(shards) == 1 else
             [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))])
    for name, keys in zip(names, shards):
        state_dict = load_pickled_checkpoint(checkpoint, mmap=True)
        tensors = {key: target[key].make(state_dict).to(target[key].dtype).contiguous() for key in keys}
        save_file(tensors, folder / name, metadata={"format": "pt"})
        del tensors, state_dict
    if len(shards) > 1:
        weight_map = {key: name for name, keys in zip(names, shards) for key in keys}
        index = {"metadata": {"total_size": sum(nbytes(k) for k in target)}, "weight_map": weight_map}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return names


def convert_c2ser(
    checkpoint: str | os.PathLike,
    emotion2vec: str | os.PathLike,
    out_dir: str | os.PathLike,
    base_model: str | os.PathLike = DEFAULT_BASE_MODEL,
    light: bool = False,
    llm_dtype: torch.dtype = torch.bfloat16,
    lora_alpha: float = DEFAULT_LORA_ALPHA,
    overwrite: bool = False,
    cache_dir: str | os.PathLike | None = None,
    max_shard_bytes: int = 5 * 10**9,
) -> C2SERConversionReport:
    """Convert to a model folder plus its processor. The text config and tokenizer come from `base_model` (a folder or
    Hub id laid out like `Qwen/Qwen2-7B`).

    Merged (default): one self-contained model, LoRA merged into the LLM. `light`: only what C2SER trained (encoders,
    connector, speech BOS/EOS) plus the LoRA adapter in peft's format and the base model's id; the checkpoint's
    frozen LLM is first verified to equal `base_model`, which `from_pretrained` then loads in its place.
    """
    inputs = [checkpoint, emotion2vec, base_model]
    check_output_dir(out_dir, overwrite, inputs)
    state_dict = load_pickled_checkpoint(checkpoint, mmap=True)  # read for names and shapes only
    if not isinstance(state_dict, dict) or "encoder.embed.conv.0.weight" not in state_dict:
        raise ConversionError(f"{checkpoint}: not a C2SER wenet checkpoint (no encoder.embed.conv.0.weight)")
    e2v_state, e2v_cfg, _ = split_checkpoint(load_pickled_checkpoint(emotion2vec))
    acoustic_config = config_from_checkpoint(e2v_state, (e2v_cfg or {}).get("model"))
    text_config = AutoConfig.from_pretrained(base_model, cache_dir=cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_model, cache_dir=cache_dir)

    # converted models default to the released front end and decoder (docs/fidelity.md#resampling, #generation)
    processor = C2SERProcessor(tokenizer=tokenizer, num_acoustic_tokens=acoustic_config.num_extra_tokens,
                               official_whisper_waveform=True)
    config = c2ser_config_from_checkpoint(state_dict, text_config, acoustic_config)
    config.speech_token_id = processor.speech_token_id
    processor.downsample_rate = config.downsample_rate

    target, dropped, adapter = map_c2ser_state_dict(state_dict, config, lora_alpha, llm_dtype, merge_lora=not light)
    acoustic, e2v_dropped = map_state_dict(e2v_state, acoustic_config, prefix="model.acoustic_tower.")
    target.update({k: Recipe((), partial(_same, t), tuple(t.shape), t.dtype) for k, t in acoustic.items()})
    dropped.update({f"emotion2vec:{key}": "pretraining-only" for key in e2v_dropped})
    adapter = {key: tensor.clone() for key, tensor in adapter.items()}
    pairs = (len(adapter) // 2) if light else sum(1 for k in state_dict if k.endswith(".lora_A.default.weight"))
    source_tensors = len(state_dict)
    del state_dict  # the writer maps the checkpoint afresh for every shard

    with torch.device("meta"):
        model = C2SERForConditionalGeneration(config)
    model.generation_config.decoding = "official"
    check_covers_model({key: recipe.shape for key, recipe in target.items()}, model, source_of=_as_source)
    if light:
        verify_base_model(target, checkpoint, base_model, cache_dir=cache_dir, chunk_bytes=max_shard_bytes)
        target = {k: v for k, v in target.items() if not k.startswith(LANGUAGE_MODEL_KEYS)}
        config.base_model_name_or_path = str(base_model)
    with atomic_output_dir(out_dir, overwrite=overwrite, inputs=inputs) as staging:
        # stored in the checkpoint's own dtypes (the LLM in `llm_dtype`); loading upcasts encoders, link and
        # projection to fp32 (docs/fidelity.md#precision)
        write_weights(target, checkpoint, staging, max_shard_bytes)
        write_model_files(model, staging, llm_dtype)
        processor.save_pretrained(staging)
        write_model_card(staging, repo_id=Path(out_dir).name)
        if light:
            write_adapter(adapter, staging, base_model, lora_alpha)
    return C2SERConversionReport(tensors=source_tensors, dropped=dropped, lora_merged=0 if light else pairs,
                                 lora_adapter=pairs if light else 0)

