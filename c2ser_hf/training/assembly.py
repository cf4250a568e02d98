"""Starting points of C2SER training, returned as a peft model ready for the trainer.

- A C2SER model to fine-tune: a light one (e.g. the converted official model) keeps training its own LoRA adapter on
  its base language model, so the result saves light again; a merged one gets a new adapter.
- A fresh C2SER assembled from pretrained parts, as stage 1 of the paper starts: the encoder of a Whisper checkpoint
  (`openai/whisper-medium`), an Emotion2Vec-S model, a causal language model and its tokenizer (`Qwen/Qwen2-7B`);
  the downsampler, link, projection and speech BOS/EOS are initialised fresh.

Whatever is created new (a LoRA adapter, the connector parts) is drawn from the run's seed, so two runs of one command
start from the same weights and a resumed run from the weights the interrupted one had.
"""

import contextlib
import json
import re
from dataclasses import dataclass, field

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor, AutoTokenizer
from transformers.modeling_utils import load_state_dict
from transformers.utils import cached_file
from transformers.utils import logging as transformers_logging

from ..model_card import TRAINING_FILE
from ..model_loading import resolve_model
from ..modeling import C2SERConfig, C2SERForConditionalGeneration, Emotion2VecSModel
from ..modeling.configuration_c2ser import WHISPER_MEDIUM_ENCODER
from ..modeling.light_checkpoint import ADAPTER_CONFIG, ADAPTER_PREFIX, ADAPTER_WEIGHTS, around_language_model
from ..modeling.modeling_c2ser_whisper import C2SERWhisperEncoder
from ..processing import C2SERProcessor

# TrainingArguments' default seed, for a starting point loaded without training arguments
DEFAULT_SEED = 42
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# LoRA on these projections of the language model only (the audio encoders have q/k/v projections too)
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj")
# trained fully; Emotion2Vec-S and the language model's own weights stay frozen (paper §V-A)
TRAINED_MODULES = ("audio_tower", "downsampler", "link", "projector", "speech_boundary")
# the connector parts a fresh model initialises (everything else comes from pretrained parts)
NEW_PARTS = ("downsampler", "link", "projector", "speech_boundary")
# C2SER trains its Whisper encoder with dropout (the released training settings), whatever the checkpoint says
WHISPER_TRAINING_DROPOUT = {k: WHISPER_MEDIUM_ENCODER[k]
                            for k in ("dropout", "activation_dropout", "attention_dropout")}


@dataclass
class StartingPoint:
    model: "peft.PeftModel"  # noqa: F821
    processor: C2SERProcessor
    base_model: str | None  # the language model a light save refers to; None when it has no id (a merged start)
    source: str  # what training started from, for the model card
    history: list = field(default_factory=list)  # training records of the starting model


def lora_config(targets: list[str], r: int, alpha: float, dropout: float, trained_modules: list[str]):
    """LoRA on the named projections of the language model's layers only (the audio encoders have same-named
    projections), the trained parts as `modules_to_save`."""
    from peft import LoraConfig

    names = "|".join(re.escape(name) for name in targets)
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, modules_to_save=list(trained_modules),
                      target_modules=rf"model\.language_model\.layers\.\d+\.(self_attn|mlp)\.({names})")


@contextlib.contextmanager
def whole_models(training_args=None):
    """Models created inside are whole. Under ZeRO-3 the training arguments make transformers shard every model as it
    is created, collectively; C2SER is assembled from parts around a meta-device shell, so it is loaded whole and
    DeepSpeed shards it when training starts (and the saved model is written from gathered weights on one process)."""
    from transformers.integrations import set_hf_deepspeed_config, unset_hf_deepspeed_config

    settings = getattr(training_args, "hf_deepspeed_config", None)
    unset_hf_deepspeed_config()
    try:
        yield
    finally:
        if settings is not None:
            set_hf_deepspeed_config(settings)


def load_starting_point(args, training_args=None) -> StartingPoint:
    """The model to train (a peft model), its processor and where it came from, for `C2SERModelArguments` `args`.
    Give `training_args` when they are already made (they may carry DeepSpeed settings); their `seed` draws every new
    parameter (`DEFAULT_SEED` without them)."""
    seed = getattr(training_args, "seed", DEFAULT_SEED)
    # the caller's random state is left as it was: the Trainer seeds its own draws (dropout, shuffling) itself
    with whole_models(training_args), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _load_peft_start(args, seed)


def _check_names(args) -> None:
    """Each model named is checked first (a folder or Hub id of the right kind), with one line naming it if not."""
    for value, expected, purpose in (
        (args.model_name_or_path, "c2ser", "model_name_or_path must be a C2SER model"),
        (args.whisper, "whisper", "whisper must be a Whisper model, e.g. openai/whisper-medium"),
        (args.emotion2vec, "emotion2vec_s",
         "emotion2vec must be an Emotion2Vec-S model (c2ser-hf convert emotion2vec)"),
        (args.language_model, None, ""),
    ):
        if value:
            base = resolve_model(value, expected, purpose).config.get("base_model_name_or_path")
            if base:
                resolve_model(base, None, "")


def _load_peft_start(args, seed: int) -> StartingPoint:
    from peft import get_peft_model

    _check_names(args)
    dtype = DTYPES[args.dtype]
    if args.model_name_or_path is None:
        model, processor = assemble_c2ser(args.whisper, args.emotion2vec, args.language_model,
                                          args.acoustic_token_source, dtype, seed)
        lora = lora_config(args.lora_target_modules, args.lora_r, args.lora_alpha, args.lora_dropout,
                           args.trained_modules)
        source = f"assembled from {args.whisper} (encoder), {args.emotion2vec} and {args.language_model}"
        return StartingPoint(get_peft_model(model, lora), processor, args.language_model, source)

    path = args.model_name_or_path
    config = C2SERConfig.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    history = _history(path)
    if not config.base_model_name_or_path:
        model = C2SERForConditionalGeneration.from_pretrained(path, dtype=dtype)
        lora = lora_config(args.lora_target_modules, args.lora_r, args.lora_alpha, args.lora_dropout,
                           args.trained_modules)
        return StartingPoint(get_peft_model(model, lora), processor, None, f"fine-tuned from {path}", history)
    model = C2SERForConditionalGeneration.from_pretrained(path, dtype=dtype, merge_adapter=False)
    adapter = json.loads(open(cached_file(path, ADAPTER_CONFIG), encoding="utf-8").read())
    lora = lora_config(adapter["target_modules"], adapter["r"], adapter["lora_alpha"], args.lora_dropout,
                       args.trained_modules)
    peft_model = get_peft_model(model, lora)
    _load_adapter(peft_model, load_state_dict(cached_file(path, ADAPTER_WEIGHTS)), path)
    return StartingPoint(peft_model, processor, config.base_model_name_or_path, f"fine-tuned from {path}", history)


def _load_adapter(peft_model, adapter: dict, path) -> None:
    """Put a light checkpoint's adapter (peft's keys on its base causal LM) into the peft model's LoRA layers."""
    renamed = {ADAPTER_PREFIX + "language_model." + key[len(ADAPTER_PREFIX):].replace(".weight", ".default.weight"):
               tensor for key, tensor in adapter.items()}
    result = peft_model.load_state_dict(renamed, strict=False)
    missing = [key for key in result.missing_keys if ".lora_" in key]
    if result.unexpected_keys or missing:
        raise ValueError(f"{path}: the adapter does not fit the model: unexpected {result.unexpected_keys[:5]}, "
                         f"missing {missing[:5]}")


def _history(path) -> list:
    record = cached_file(path, TRAINING_FILE, _raise_exceptions_for_missing_entries=False)
    return json.loads(open(record, encoding="utf-8").read())["stages"] if record else []


@contextlib.contextmanager
def _quiet_loading():
    # a Whisper checkpoint also holds the decoder, which the encoder deliberately leaves out: no report of it
    level = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(level)


def assemble_c2ser(whisper, emotion2vec, language_model, acoustic_token_source: str = "first_frames",
                   dtype: torch.dtype = torch.float32, seed: int = 0):
    """(model, processor) of a fresh C2SER from pretrained parts: folders or Hub ids laid out like
    `openai/whisper-medium`, a converted Emotion2Vec-S, and `Qwen/Qwen2-7B`. The link takes the Whisper width, its FFN
    2.5× that (2560 at 1024, as released); the new parts are initialised with seed `seed`."""
    whisper_config = AutoConfig.from_pretrained(whisper, **WHISPER_TRAINING_DROPOUT)
    if whisper_config.model_type != "whisper":
        raise ValueError(f"{whisper}: a {whisper_config.model_type} model, not Whisper")
    with _quiet_loading():
        audio_tower, info = C2SERWhisperEncoder.from_pretrained(
            whisper, config=whisper_config, key_mapping={r"^model\.encoder\.": ""}, output_loading_info=True)
    if info["missing_keys"]:
        raise ValueError(f"{whisper}: no Whisper encoder weights for {sorted(info['missing_keys'])[:5]}")
    acoustic_tower = Emotion2VecSModel.from_pretrained(emotion2vec)
    causal_lm = AutoModelForCausalLM.from_pretrained(language_model, dtype=dtype)
    processor = C2SERProcessor(tokenizer=AutoTokenizer.from_pretrained(language_model),
                               num_acoustic_tokens=1 if acoustic_token_source == "mean"
                               else acoustic_tower.config.num_extra_tokens)
    vocab = causal_lm.get_input_embeddings().num_embeddings
    if processor.speech_token_id >= vocab:
        raise ValueError(f"{language_model}: the speech placeholder's id {processor.speech_token_id} lies outside the "
                         f"language model's {vocab} embeddings")
    width = whisper_config.d_model
    config = C2SERConfig(
        audio_config=whisper_config.to_dict(), acoustic_config=acoustic_tower.config.to_dict(),
        text_config=causal_lm.config.to_dict(), link_config={"hidden_size": width, "intermediate_size": 5 * width // 2},
        acoustic_token_source=acoustic_token_source, speech_token_id=processor.speech_token_id,
        downsample_rate=processor.downsample_rate,
    )
    model = around_language_model(C2SERForConditionalGeneration, config, causal_lm)
    model.model.audio_tower, model.model.acoustic_tower = audio_tower, acoustic_tower
    torch.manual_seed(seed)
    for name in NEW_PARTS:
        part = getattr(model.model, name).to_empty(device="cpu")
        for module in part.modules():
            model.model._init_weights(module)
    return model, processor
