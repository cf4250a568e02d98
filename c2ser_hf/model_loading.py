"""Loading a model the user named (a folder or a Hub id): every way the value can be wrong is one line naming it.

The value is checked before transformers sees it, so no command ever shows transformers' "run the custom code?"
prompt, a table of missing weights or a retry loop: a path is checked on disk without touching the network, a Hub id
is looked up once (no retries) and falls back to the local cache, and with `HF_HUB_OFFLINE=1` only the cache is read.
"""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

MODEL_KINDS = {
    "c2ser": "a C2SER model",
    "emotion2vec_s": "an Emotion2Vec-S model",
}
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
_FILE_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".mp4", ".webm", ".aac", ".opus", ".pt", ".bin",
                  ".safetensors", ".json", ".jsonl", ".csv", ".txt", ".npy", ".yaml", ".yml"}


class ModelInputError(ValueError):
    """The value given as a model cannot be used; the message is one line that names it."""


@dataclass
class ResolvedModel:
    target: str  # what to pass to `from_pretrained`: a folder or a Hub id
    config: dict  # its config.json
    local_files_only: bool  # the Hub is unreachable (or offline): load from the cache only

    def hub_kwargs(self, cache_dir, revision, token) -> dict:
        return {"cache_dir": cache_dir, "revision": revision, "token": token, "local_files_only": self.local_files_only}


def _kind_name(model_type: str | None) -> str:
    if model_type in MODEL_KINDS:
        return MODEL_KINDS[model_type]
    return f"a {model_type!r} model" if model_type else "a model of unknown type (its config.json has no model_type)"


def _looks_like_path(value: str) -> bool:
    return (
        value.startswith((".", "/", "~")) or value.count("/") > 1 or "\\" in value or "--" in value or ".." in value
        or Path(value).suffix.lower() in _FILE_SUFFIXES or not _REPO_ID.match(value)
    )


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _cached_file(repo_id: str, filename: str, cache_dir, revision) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir, revision=revision)
    return Path(found) if isinstance(found, str) else None


def _hub_file(repo_id: str, filename: str, cache_dir, revision, token) -> tuple[Path, bool]:
    """`filename` of a Hub repo and whether the Hub answered (False: the cached copy, the Hub being unreachable)."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError, GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError,
    )

    cached = _cached_file(repo_id, filename, cache_dir, revision)
    if _hub_offline():
        if cached is None:
            raise ModelInputError(
                f"{repo_id}: not a local folder, and a Hub model that is not in the local cache (HF_HUB_OFFLINE=1 "
                "forbids downloading it)"
            )
        return cached, False
    try:
        # one request, no retries: an unreachable Hub costs seconds, not minutes
        HfApi(token=token).model_info(repo_id, revision=revision, timeout=10)
    except GatedRepoError:
        raise ModelInputError(f"{repo_id}: a gated Hub model; accept its terms on the Hub and log in (hf auth login)")
    except RepositoryNotFoundError:
        raise ModelInputError(f"{repo_id}: no such local folder, and no such model on the Hub (or it is private)")
    except RevisionNotFoundError:
        raise ModelInputError(f"{repo_id}: the Hub model has no revision {revision!r}")
    except Exception as error:  # connection errors come from the HTTP client's own classes
        if cached is None:
            raise ModelInputError(
                f"{repo_id}: cannot reach the Hub ({type(error).__name__}) and the model is not in the local cache"
            ) from None
        return cached, False
    try:
        return Path(hf_hub_download(repo_id, filename, cache_dir=cache_dir, revision=revision, token=token)), True
    except EntryNotFoundError:
        raise ModelInputError(f"{repo_id}: the Hub repo has no {filename}, so it is not what is needed here") from None


def resolve_model(
    value: str | os.PathLike,
    expected: str | tuple[str, ...] | None,
    purpose: str = "",
    cache_dir=None,
    revision: str | None = None,
    token: str | None = None,
    local_only: bool = False,
    required_file: str = "config.json",
) -> ResolvedModel:
    """Check that `value` names a model folder or Hub repo holding `required_file` (a JSON file) and, when `expected`
    is given, whose config.json `model_type` is one of `expected` — without loading it. `purpose` completes the
    wrong-type message, e.g. "predict needs a C2SER model"; `local_only`: a folder, never a Hub id. Raises
    `ModelInputError`."""
    expected = (expected,) if isinstance(expected, str) else expected
    text = os.fspath(value).strip() if value is not None else ""
    if not text:
        raise ModelInputError("no model given: name a model folder or a Hub id")
    path = Path(text).expanduser()
    offline_cache = False
    if path.exists():
        if not path.is_dir():
            raise ModelInputError(f"{text}: is a file, not a model folder (give the folder holding {required_file})")
        config_path = path / required_file
        if not config_path.is_file():
            raise ModelInputError(f"{text}: not a model folder: no {required_file}")
        target = str(path)
    elif local_only or _looks_like_path(text):
        raise ModelInputError(f"{text}: no such folder")
    else:
        config_path, online = _hub_file(text, required_file, cache_dir, revision, token)
        target, offline_cache = text, not online
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelInputError(f"{text}: {required_file} is not readable JSON ({error})") from None
    if not isinstance(config, dict):
        raise ModelInputError(f"{text}: {required_file} is not a JSON object")
    model_type = config.get("model_type")
    if expected is not None and model_type not in expected:
        raise ModelInputError(f"{text}: is {_kind_name(model_type)}; {purpose}")
    return ResolvedModel(target, config, offline_cache or _hub_offline())


def _load_error(value: str, error: Exception) -> ModelInputError:
    message = " ".join(str(error).split()) or type(error).__name__
    return ModelInputError(f"{value}: cannot be loaded: {message[:300]}")


def _torch_dtype(dtype):
    import torch

    return getattr(torch, dtype) if isinstance(dtype, str) and dtype != "auto" else dtype


# what `quantization` loads the language model as (bitsandbytes); the speech encoders, link and head stay as they are
QUANTIZATIONS = ("4bit", "8bit")


def load_c2ser(
    value: str | os.PathLike,
    dtype="float32",
    device: str | None = None,
    cache_dir=None,
    revision: str | None = None,
    token: str | None = None,
    command: str = "this command",
    quantization: str | None = None,
    encoder_precision: str = "fp32",
    compile_encoders: bool = False,
):
    """(model in eval mode, processor) for a C2SER folder, Hub id, or "official" (the released model, converted once
    and cached). `quantization` "4bit" / "8bit" loads the language model's layers with bitsandbytes (CUDA only);
    `encoder_precision` and `compile_encoders`: `C2SERForConditionalGeneration.set_encoder_precision` and
    `compile_encoders`. Errors: `ModelInputError`, one line."""
    quantization_config = _quantization_config(quantization, device, command)
    if os.fspath(value) == "official":
        from .official import from_official

        value = str(from_official(cache_dir=cache_dir))
    resolved = resolve_model(value, "c2ser", f"{command} needs a C2SER model", cache_dir, revision, token)
    hub = resolved.hub_kwargs(cache_dir, revision, token)
    base = resolved.config.get("base_model_name_or_path")
    if base:
        if quantization_config is not None:
            raise ModelInputError(f"{value}: a light checkpoint (LoRA merged when loading) cannot be loaded quantized; "
                                  "convert it to a merged one first")
        resolve_model(base, "qwen2", f"the base model of light checkpoint {value} must be a Qwen2 model",
                      cache_dir, None, token)
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    import c2ser_hf  # noqa: F401  (registration)

    try:
        processor = AutoProcessor.from_pretrained(resolved.target, trust_remote_code=False, **hub)
        placement = {} if quantization_config is None else {"quantization_config": quantization_config,
                                                             "device_map": {"": device or "cuda"}}
        model = AutoModelForMultimodalLM.from_pretrained(
            resolved.target, dtype=_torch_dtype(dtype), trust_remote_code=False, **placement, **hub
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise _load_error(os.fspath(value), error) from None
    if device is not None and quantization_config is None:
        model = model.to(device)
    model.set_encoder_precision(encoder_precision)
    if compile_encoders:
        model.compile_encoders()
    return model.eval(), processor


def _quantization_config(quantization: str | None, device: str | None, command: str):
    """bitsandbytes settings for `quantization`, or None; one line when this machine cannot run it."""
    if quantization is None:
        return None
    if quantization not in QUANTIZATIONS:
        raise ModelInputError(f"quantization {quantization!r} is not one of {', '.join(QUANTIZATIONS)}")
    import importlib.util

    import torch

    if not torch.cuda.is_available() or (device is not None and not str(device).startswith("cuda")):
        raise ModelInputError(f"{command}: {quantization} loading (bitsandbytes) needs a CUDA GPU; "
                              f"{'this machine has none' if not torch.cuda.is_available() else f'device is {device}'}")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelInputError(f"{command}: {quantization} loading needs bitsandbytes (pip install bitsandbytes)")
    from transformers import BitsAndBytesConfig

    # only the language model's layers: the encoders, link, projection and speech rows are small and stay fp32, the
    # head stays in the model's dtype
    keep = ["audio_tower", "acoustic_tower", "downsampler", "link", "projector", "speech_boundary", "lm_head"]
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=keep)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                              llm_int8_skip_modules=keep)


def _load_encoder(resolved: ResolvedModel, value, model_class, device, cache_dir, revision, token):
    """(model in eval mode, feature extractor) of an audio encoder that `resolve_model` has checked."""
    hub = resolved.hub_kwargs(cache_dir, revision, token)
    from transformers import AutoFeatureExtractor

    import c2ser_hf  # noqa: F401  (registration)

    try:
        model = model_class.from_pretrained(resolved.target, trust_remote_code=False, **hub)
        feature_extractor = AutoFeatureExtractor.from_pretrained(resolved.target, trust_remote_code=False, **hub)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise _load_error(os.fspath(value), error) from None
    from .divergence_guard import check_finite_weights

    check_finite_weights(model.state_dict(), os.fspath(value))  # a diverged model would give features of NaN
    if device is not None:
        model = model.to(device)
    return model.eval(), feature_extractor


def load_emotion2vec_s(
    value: str | os.PathLike,
    device: str | None = None,
    cache_dir=None,
    revision: str | None = None,
    token: str | None = None,
    command: str = "this command",
):
    """(Emotion2VecSModel in eval mode, its feature extractor) for an Emotion2Vec-S / emotion2vec folder or Hub id."""
    resolved = resolve_model(
        value, "emotion2vec_s", f"{command} needs an Emotion2Vec-S model", cache_dir, revision, token
    )
    from .modeling.modeling_emotion2vec_s import Emotion2VecSModel

    return _load_encoder(resolved, value, Emotion2VecSModel, device, cache_dir, revision, token)


def load_audio_encoder(
    value: str | os.PathLike,
    device: str | None = None,
    cache_dir=None,
    revision: str | None = None,
    token: str | None = None,
):
    """(model in eval mode, feature extractor) of any speech encoder through `AutoModel` / `AutoFeatureExtractor`:
    Emotion2Vec-S (a pretraining folder gives its encoder) or a transformers one (WavLM, HuBERT, wav2vec 2.0, ...)."""
    resolved = resolve_model(value, None, cache_dir=cache_dir, revision=revision, token=token)
    from transformers import AutoModel

    return _load_encoder(resolved, value, AutoModel, device, cache_dir, revision, token)
