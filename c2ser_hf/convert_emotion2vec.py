"""Convert emotion2vec / Emotion2Vec-S checkpoints (fairseq or FunASR) to an `Emotion2VecS*` model folder.

Key names and the mapping: docs/fidelity.md#conversion. Architecture comes from the tensor shapes, and from the stored
config (fairseq `cfg.model`, or FunASR's `config.yaml` beside the checkpoint) for what shapes cannot tell (CNN
strides, head count, norm placement). Every source tensor must be used, every target set, or the conversion fails.
"""

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from .checkpoint_io import atomic_output_dir, load_pickled_checkpoint
from .modeling import Emotion2VecSConfig, Emotion2VecSForSequenceClassification, Emotion2VecSModel
from .processing import Emotion2VecSFeatureExtractor

AUDIO = "modality_encoders.AUDIO."
# Pretraining-only parts: the data2vec decoder that predicts masked targets, and the EMA teacher.
DROPPED_PREFIXES = (AUDIO + "decoder.", "_ema", "ema.")
DEFAULT_STRIDES = (5, 2, 2, 2, 2, 2, 2)
BLOCK_RENAMES = {
    "attn.proj": "attention.out_proj",
    "norm1": "layer_norm",
    "norm2": "final_layer_norm",
    "mlp.fc1": "feed_forward.intermediate_dense",
    "mlp.fc2": "feed_forward.output_dense",
}


class ConversionError(ValueError):
    """The checkpoint does not map onto the model: unknown, unused or missing tensors, or an unsupported variant."""


@dataclass
class ConversionReport:
    source_format: str
    model_class: str
    tensors: int
    dropped: list[str] = field(default_factory=list)
    labels: list[str] | None = None


def split_checkpoint(checkpoint: dict) -> tuple[dict, dict | None, str]:
    """(state dict, stored model config or None, format name) for the fairseq and FunASR layouts."""
    if isinstance(checkpoint.get("model"), dict) and any(torch.is_tensor(v) for v in checkpoint["model"].values()):
        cfg = checkpoint.get("cfg") if isinstance(checkpoint.get("cfg"), dict) else None
        return checkpoint["model"], cfg, "fairseq"
    for key in ("state_dict", "model_state_dict"):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key], None, f"funasr[{key}]"
    if checkpoint and all(torch.is_tensor(v) for v in checkpoint.values()):
        return checkpoint, None, "funasr"
    raise ConversionError(
        "unrecognised checkpoint layout: expected a fairseq checkpoint ({'model': state_dict, 'cfg': ...}) or a "
        f"FunASR state dict (raw, or under 'state_dict'/'model_state_dict'); top-level keys: {sorted(checkpoint)[:10]}"
    )


def _conv_spec_strides(spec: str) -> tuple[int, ...]:
    """Strides from a fairseq `feature_encoder_spec` such as "[(512, 10, 5)] + [(512, 3, 2)] * 4", without eval."""

    def value(node):
        if isinstance(node, (ast.List, ast.Tuple)):
            return [value(item) for item in node.elts]
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = value(node.left), value(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ConversionError(f"cannot read feature_encoder_spec {spec!r}")

    return tuple(int(layer[2]) for layer in value(ast.parse(spec, mode="eval").body))


def matching_indices(state_dict: dict, pattern: str) -> list[int]:
    """Sorted distinct values of the first group of `pattern` over the keys that fully match it (layer numbers)."""
    regex = re.compile(pattern)
    return sorted({int(m.group(1)) for key in state_dict if (m := regex.fullmatch(key))})


def config_from_checkpoint(state_dict: dict, model_cfg: dict | None, **overrides) -> Emotion2VecSConfig:
    """Emotion2VecSConfig from tensor shapes, with the stored config for what shapes do not determine."""
    model_cfg = model_cfg or {}
    audio_cfg = (model_cfg.get("modalities") or {}).get("audio") or {}
    unsupported = {
        "layer_norm_first": model_cfg.get("layer_norm_first", False),
        "learned_alibi": audio_cfg.get("learned_alibi", False),
        "conv_pos_pre_ln": audio_cfg.get("conv_pos_pre_ln", False),
    }
    if audio_cfg.get("extractor_mode", "layer_norm") != "layer_norm":
        unsupported["extractor_mode"] = audio_cfg["extractor_mode"]
    unsupported = {k: v for k, v in unsupported.items() if v}
    if unsupported:
        raise ConversionError(f"unsupported data2vec 2.0 variant (emotion2vec uses none of these): {unsupported}")

    def shape(key):
        if key not in state_dict:
            raise ConversionError(f"checkpoint has no tensor {key!r}: not an emotion2vec audio model")
        return tuple(state_dict[key].shape)

    conv_layers = matching_indices(state_dict, re.escape(AUDIO) + r"local_encoder\.conv_layers\.(\d+)\.0\.weight")
    conv_shapes = [shape(f"{AUDIO}local_encoder.conv_layers.{i}.0.weight") for i in conv_layers]
    conv_dim = [s[0] for s in conv_shapes]
    conv_kernel = [s[2] for s in conv_shapes]
    if "feature_encoder_spec" in audio_cfg:
        conv_stride = _conv_spec_strides(audio_cfg["feature_encoder_spec"])
    elif len(conv_kernel) == len(DEFAULT_STRIDES):
        conv_stride = DEFAULT_STRIDES
    else:
        raise ConversionError(
            f"the CNN has {len(conv_kernel)} layers and the checkpoint stores no feature_encoder_spec: strides unknown"
        )
    hidden_size = shape(f"{AUDIO}project_features.2.weight")[0]
    pos_layers = matching_indices(state_dict, re.escape(AUDIO) + r"relative_positional_encoder\.(\d+)\.0\.weight")
    pos_shape = shape(f"{AUDIO}relative_positional_encoder.{pos_layers[0]}.0.weight")
    prenet = matching_indices(state_dict, re.escape(AUDIO) + r"context_encoder\.blocks\.(\d+)\.norm1\.weight")
    main = matching_indices(state_dict, r"blocks\.(\d+)\.norm1\.weight")
    extra = state_dict.get(f"{AUDIO}extra_tokens")
    alibi = state_dict.get(f"{AUDIO}alibi_scale")
    alibi_shape = tuple(alibi.shape) if alibi is not None else None
    if alibi_shape is not None and len(alibi_shape) == 4:  # older checkpoints lack the per-layer axis
        alibi_shape = (1, *alibi_shape)
    heads = model_cfg.get("num_heads") or (alibi_shape[2] if alibi_shape and alibi_shape[2] > 1 else hidden_size // 64)

    values = dict(
        hidden_size=hidden_size,
        num_hidden_layers=len(prenet) + len(main),
        num_prenet_layers=len(prenet),
        num_attention_heads=heads,
        intermediate_size=shape("blocks.0.mlp.fc1.weight" if main else f"{AUDIO}context_encoder.blocks.0.mlp.fc1.weight")[0],
        layer_norm_eps=float(model_cfg.get("norm_eps") or 1e-5),
        conv_dim=conv_dim,
        conv_kernel=conv_kernel,
        conv_stride=list(conv_stride),
        num_conv_pos_embeddings=len(pos_layers),
        conv_pos_kernel_size=pos_shape[2],
        num_conv_pos_embedding_groups=hidden_size // pos_shape[1],
        num_extra_tokens=0 if extra is None else extra.shape[1],
        use_alibi=alibi is not None,
        alibi_scale_per_layer=bool(alibi_shape and alibi_shape[0] > 1),
        alibi_scale_per_head=bool(alibi_shape and alibi_shape[2] > 1),
        layerdrop=float(model_cfg.get("layerdrop", 0.05)),
    )
    if values["num_extra_tokens"] == 0:
        values["utterance_source"] = "mean"
    values.update(overrides)
    return Emotion2VecSConfig(**values)


def map_state_dict(state_dict: dict, config: Emotion2VecSConfig, prefix: str = "") -> tuple[dict, list[str]]:
    """Target state dict for `Emotion2VecSModel` (keys under `prefix`), and the source keys deliberately dropped.
    Raises ConversionError listing any source tensor that maps nowhere."""
    target, used, dropped, absent = {}, set(), [], []

    def put(source_key, target_key, tensor=None):
        if source_key not in state_dict:
            absent.append(source_key)
            return
        target[prefix + target_key] = (state_dict[source_key] if tensor is None else tensor).float().contiguous()
        used.add(source_key)

    def put_block(source, index):
        dest = f"encoder.layers.{index}."
        for kind in ("weight", "bias"):
            qkv = state_dict.get(f"{source}attn.qkv.{kind}")
            parts = qkv.chunk(3) if qkv is not None else (None,) * 3
            for name, part in zip(("q_proj", "k_proj", "v_proj"), parts):
                put(f"{source}attn.qkv.{kind}", f"{dest}attention.{name}.{kind}", part)
        for old, new in BLOCK_RENAMES.items():
            for kind in ("weight", "bias"):
                put(f"{source}{old}.{kind}", f"{dest}{new}.{kind}")

    for i in range(len(config.conv_dim)):
        put(f"{AUDIO}local_encoder.conv_layers.{i}.0.weight", f"feature_extractor.conv_layers.{i}.conv.weight")
        for kind in ("weight", "bias"):
            put(f"{AUDIO}local_encoder.conv_layers.{i}.2.1.{kind}", f"feature_extractor.conv_layers.{i}.layer_norm.{kind}")
    for kind in ("weight", "bias"):
        put(f"{AUDIO}project_features.1.{kind}", f"feature_projection.layer_norm.{kind}")
        put(f"{AUDIO}project_features.2.{kind}", f"feature_projection.projection.{kind}")
        put(f"{AUDIO}context_encoder.norm.{kind}", f"encoder.layer_norm.{kind}")
        for j in range(config.num_conv_pos_embeddings):
            put(f"{AUDIO}relative_positional_encoder.{j + 1}.0.{kind}", f"encoder.pos_conv_embed.layers.{j}.conv.{kind}")
    if config.num_extra_tokens:
        put(f"{AUDIO}extra_tokens", "encoder.extra_tokens")
    if config.use_alibi:
        scale = state_dict[f"{AUDIO}alibi_scale"]
        put(f"{AUDIO}alibi_scale", "encoder.alibi_scale", scale if scale.dim() == 5 else scale.unsqueeze(0))
    for i in range(config.num_prenet_layers):
        put_block(f"{AUDIO}context_encoder.blocks.{i}.", i)
    for i in range(config.num_hidden_layers - config.num_prenet_layers):
        put_block(f"blocks.{i}.", config.num_prenet_layers + i)

    for key in state_dict:
        if key not in used and key.startswith(DROPPED_PREFIXES):
            dropped.append(key)
    leftovers = sorted(set(state_dict) - used - set(dropped) - {"proj.weight", "proj.bias"})
    if leftovers or absent:
        raise ConversionError(
            f"checkpoint does not match the architecture: {len(leftovers)} source tensor(s) map to nothing: "
            f"{leftovers}; {len(absent)} expected source tensor(s) are absent: {sorted(set(absent))}"
        )
    return target, dropped


def check_covers_model(shapes: dict[str, tuple[int, ...]], model) -> None:
    """Every model tensor is produced, nothing else is, and every shape fits; else fail naming the keys."""
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing, unexpected = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
    wrong = [f"{k}: {shapes[k]} vs {expected[k]}" for k in sorted(set(shapes) & set(expected)) if shapes[k] != expected[k]]
    if missing or unexpected or wrong:
        raise ConversionError(f"model tensors not set: {missing[:20]}; not in the model: {unexpected[:20]}; "
                              f"shape mismatches: {wrong[:20]}")


def read_labels(checkpoint_path: Path, num_labels: int, labels: list[str] | None) -> list[str]:
    """Class names for a FunASR `proj` head: given, or FunASR's tokens.txt / config.yaml beside the checkpoint."""
    if labels is None:
        tokens = checkpoint_path.with_name("tokens.txt")
        conf = checkpoint_path.with_name("config.yaml")
        if tokens.is_file():
            labels = [line.strip() for line in tokens.read_text(encoding="utf-8").splitlines() if line.strip()]
        elif conf.is_file():
            listed = ((yaml.safe_load(conf.read_text(encoding="utf-8")) or {}).get("tokenizer_conf") or {}).get(
                "token_list"
            )
            labels = listed if isinstance(listed, list) else None
    if labels is None:
        return [f"LABEL_{i}" for i in range(num_labels)]
    if len(labels) != num_labels:
        raise ConversionError(f"the classification layer has {num_labels} outputs but {len(labels)} labels were given")
    return list(labels)


def convert_emotion2vec(
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    labels: list[str] | None = None,
    normalize_waveform: bool | None = None,
    overwrite: bool = False,
    **config_overrides,
) -> ConversionReport:
    """Convert a fairseq or FunASR emotion2vec/Emotion2Vec-S checkpoint into a `save_pretrained` folder.

    `normalize_waveform`: waveform layer-norm in the feature extractor; default the stored `normalize` flag
    (emotion2vec trains with it; Emotion2Vec-S inside C2SER runs without it, docs/fidelity.md#acoustic-tokens).
    """
    checkpoint = Path(checkpoint)
    state_dict, cfg, source_format = split_checkpoint(load_pickled_checkpoint(checkpoint))
    model_cfg = (cfg or {}).get("model")
    stored_normalize = ((cfg or {}).get("task") or {}).get("normalize")
    yaml_path = checkpoint.with_name("config.yaml")
    if model_cfg is None and yaml_path.is_file():
        model_cfg = (yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}).get("model_conf")
        stored_normalize = (model_cfg or {}).get("normalize")

    has_head = "proj.weight" in state_dict
    if has_head:
        head = state_dict["proj.weight"]
        names = read_labels(checkpoint, head.shape[0], labels)
        config_overrides = {
            "classifier_hidden_sizes": [],
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
            **config_overrides,
        }
    config = config_from_checkpoint(state_dict, model_cfg, **config_overrides)
    prefix = "emotion2vec_s." if has_head else ""
    target, dropped = map_state_dict(state_dict, config, prefix)
    if has_head:
        target["classifier.out_proj.weight"] = state_dict["proj.weight"].float()
        target["classifier.out_proj.bias"] = state_dict["proj.bias"].float()

    model_class = Emotion2VecSForSequenceClassification if has_head else Emotion2VecSModel
    with torch.device("meta"):
        model = model_class(config)
    check_covers_model({key: tuple(tensor.shape) for key, tensor in target.items()}, model)
    model.load_state_dict(target, strict=True, assign=True)
    model.eval()

    do_normalize = bool(stored_normalize) if normalize_waveform is None else normalize_waveform
    feature_extractor = Emotion2VecSFeatureExtractor(do_normalize=do_normalize, min_samples=config.receptive_field)
    with atomic_output_dir(out_dir, overwrite=overwrite) as staging:
        model.save_pretrained(staging)
        feature_extractor.save_pretrained(staging)
    return ConversionReport(
        source_format=source_format,
        model_class=model_class.__name__,
        tensors=len(state_dict),
        dropped=dropped,
        labels=[config.id2label[i] for i in range(config.num_labels)] if has_head else None,
    )
