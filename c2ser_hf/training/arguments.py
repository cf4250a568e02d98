"""The three argument groups of a C2SER training run, parsed TRL-style (`TrlParser`: a YAML recipe, then the command
line) into: data (TRL's `ScriptArguments` plus column names), model (starting point, LoRA, trained parts) and
training (TRL's `SFTConfig` plus the chain-of-thought schedule and the save format)."""

from dataclasses import dataclass, field

from trl import ScriptArguments, SFTConfig

from ..divergence_guard import NONFINITE_HELP, check_nonfinite_action
from ..modeling.configuration_emotion2vec_s import UTTERANCE_SOURCES
from .assembly import LORA_TARGETS, TRAINED_MODULES
from .schedule import SCHEDULES, explicit_probability

SAVE_FORMATS = ("light", "merged")
EVAL_MODES = ("explicit", "implicit")


@dataclass
class C2SERDataArguments(ScriptArguments):
    """`dataset_name`: a `build-cot` output folder, or Hub id of a dataset with the same columns."""

    audio_column: str = field(default="audio", metadata={"help": "Column holding the audio."})
    explicit_column: str = field(default="explicit_target", metadata={"help": "Column of explicit CoT targets."})
    implicit_column: str = field(default="implicit_target", metadata={"help": "Column of implicit CoT targets."})
    max_bad_fraction: float = field(
        default=0.01, metadata={"help": "Share of rows whose audio cannot be decoded that are left out (each named "
                                        "in a warning) before the run stops instead."})

    def __post_init__(self):
        if not 0 <= self.max_bad_fraction <= 1:
            raise ValueError(f"max_bad_fraction must be between 0 and 1, got {self.max_bad_fraction!r}")


@dataclass
class C2SERModelArguments:
    """Where training starts: a C2SER model (`model_name_or_path`: light or merged, e.g. the converted official one),
    or a fresh C2SER assembled from pretrained parts (`whisper`, `emotion2vec`, `language_model`), as stage 1 of the
    paper starts."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "C2SER folder or Hub id to fine-tune (light or merged)."})
    whisper: str | None = field(
        default=None, metadata={"help": "Whisper folder or Hub id (e.g. openai/whisper-medium): its encoder."})
    emotion2vec: str | None = field(
        default=None, metadata={"help": "Emotion2Vec-S folder or Hub id (from `c2ser-hf convert emotion2vec`)."})
    language_model: str | None = field(
        default=None, metadata={"help": "Causal LM folder or Hub id (e.g. Qwen/Qwen2-7B) and its tokenizer."})
    acoustic_token_source: str = field(
        default="first_frames", metadata={"help": f"Fresh models: acoustic tokens, one of {UTTERANCE_SOURCES} "
                                                  "(first_frames: as the released model)."})
    dtype: str = field(
        default="float32", metadata={"help": "Language model dtype: float32, bfloat16 or float16; the encoders and "
                                             "connector stay float32."})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (a model's own adapter keeps its rank)."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (a model's own adapter keeps its alpha)."})
    lora_dropout: float = field(default=0.1, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: list(LORA_TARGETS), metadata={"help": "Language-model projections that get LoRA."})
    trained_modules: list[str] = field(
        default_factory=lambda: list(TRAINED_MODULES), metadata={"help": "C2SER parts trained fully."})

    def __post_init__(self):
        fresh = [name for name in ("whisper", "emotion2vec", "language_model") if getattr(self, name)]
        if self.model_name_or_path and fresh:
            raise ValueError(f"give model_name_or_path or the parts ({', '.join(fresh)}), not both")
        if not self.model_name_or_path and len(fresh) != 3:
            missing = [name for name in ("whisper", "emotion2vec", "language_model") if not getattr(self, name)]
            raise ValueError("give model_name_or_path (a C2SER model) or all three parts; missing "
                             + ", ".join(missing))
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if self.acoustic_token_source not in UTTERANCE_SOURCES:
            raise ValueError(f"acoustic_token_source must be one of {UTTERANCE_SOURCES}, "
                             f"got {self.acoustic_token_source!r}")


@dataclass
class C2SERTrainingConfig(SFTConfig):
    """`SFTConfig` with the chain-of-thought schedule, and the defaults C2SER's collator needs (its batches are not
    text: no column removal, no TRL dataset preparation)."""

    cot_schedule: str = field(
        default="linear", metadata={"help": f"P(explicit batch) per optimizer step: {', '.join(SCHEDULES)}. "
                                            "explicit = stage 1; linear (1 → 0) = stage 2."})
    cot_explicit_probability: float = field(
        default=0.5, metadata={"help": "P(explicit) of the constant schedule."})
    eval_mode: str = field(default="implicit", metadata={"help": f"Targets of evaluation batches: {EVAL_MODES}."})
    save_format: str = field(
        default="light", metadata={"help": "Final model: light (trained parts + adapter + base id) or merged."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Keep every column for the collator."})
    dataset_kwargs: dict | str | None = field(
        default_factory=lambda: {"skip_prepare_dataset": True}, metadata={"help": "The collator prepares batches."})
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "Every trained parameter is used in each step."})
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start a new run in an output_dir holding another run of ours, deleting only "
                                         "that run's files (the same run resumes without it)."})
    on_nonfinite: str = field(default="stop", metadata={"help": NONFINITE_HELP})

    def __post_init__(self):
        super().__post_init__()
        explicit_probability(self.cot_schedule, 0, 2, self.cot_explicit_probability)  # checks both
        if self.eval_mode not in EVAL_MODES:
            raise ValueError(f"eval_mode must be one of {EVAL_MODES}, got {self.eval_mode!r}")
        if self.save_format not in SAVE_FORMATS:
            raise ValueError(f"save_format must be one of {SAVE_FORMATS}, got {self.save_format!r}")
        check_nonfinite_action(self.on_nonfinite)
