"""The recipe of `pretrain-emotion2vec`: one YAML mapping holding the fields below and any
`transformers.TrainingArguments` field, overridable field by field."""

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path


from ..divergence_guard import NONFINITE_HELP, check_nonfinite_action


@dataclass
class Emotion2VecPretrainingArguments:
    model: str | None = field(
        default=None,
        metadata={"help": "converted emotion2vec / Emotion2Vec-S folder or Hub id (`convert emotion2vec "
                          "--keep-decoder` keeps the pretraining decoder); null: a new model from model_config"},
    )
    model_config: dict | None = field(
        default=None, metadata={"help": "Emotion2VecSConfig fields of a new model (when model is null)"}
    )
    config_overrides: dict = field(
        default_factory=dict,
        metadata={"help": "Emotion2VecSConfig fields changed on the model: loss weights, masking, decoder, dropout"},
    )
    datasets: list[dict] = field(
        default_factory=list,
        metadata={"help": "training corpora: load_dataset arguments (path, name, split, data_dir, data_files) and "
                          "label_column (default `emotion` if present; null = unlabelled)"},
    )
    streaming: bool = field(default=False, metadata={"help": "stream the corpora (needs max_steps)"})
    max_seconds: float = field(default=20.0, metadata={"help": "crop longer clips to this length (0: never)"})
    max_bad_fraction: float = field(default=0.01, metadata={
        "help": "share of a corpus's clips that cannot be decoded left out, each named, before the run stops"})
    dither: float = field(default=2.0**-15, metadata={
        "help": "std of the noise added to each training clip (one 16-bit step): digital silence otherwise makes "
                "a new encoder's CNN gradients overflow (docs/emotion2vec-training.md#silence); 0: none"})
    normalize_waveform: bool | None = field(
        default=None,
        metadata={"help": "waveform layer norm (emotion2vec trains with it); default: the model folder's feature "
                          "extractor, or on for a new model"},
    )
    ema_decay: float = field(default=0.999, metadata={"help": "EMA teacher decay at step 0"})
    ema_end_decay: float = field(default=0.99999, metadata={"help": "EMA decay reached at ema_anneal_end_step"})
    ema_anneal_end_step: int = field(default=20000, metadata={"help": "optimizer steps of the linear decay ramp"})
    on_nonfinite: str = field(default="stop", metadata={"help": NONFINITE_HELP})
    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "start a new run in an output_dir holding another run of ours, deleting only that run's files (the "
                "same run resumes without it)"})

    def __post_init__(self):
        check_nonfinite_action(self.on_nonfinite)


def parse_recipe(path: str | Path, overrides: list[str] = ()):
    """(Emotion2VecPretrainingArguments, TrainingArguments) from a YAML recipe and `FIELD=VALUE` overrides (values
    parsed as YAML). Unknown fields, a missing file or a malformed value raise ValueError naming them."""
    from transformers import HfArgumentParser, TrainingArguments

    from ..recipe_precheck import read_pretraining_recipe

    values = read_pretraining_recipe(path, overrides)
    groups = (Emotion2VecPretrainingArguments, TrainingArguments)
    _check_types(groups, values, path)
    return HfArgumentParser(groups).parse_dict(values, allow_extra_keys=False)


SCALARS = (bool, int, float, str)


def _fits(value, kind) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, not to a recipe
        return kind is bool
    return isinstance(value, kind) or (kind is float and isinstance(value, int))


def _check_types(groups, values: dict, path) -> None:
    """A field declared as a number, flag or text given a value of another kind is refused here, naming it: the
    dataclasses take any value, and e.g. `max_steps: four` would fail only once the model and data are loaded."""
    for group in groups:
        hints = typing.get_type_hints(group)
        for item in dataclasses.fields(group):
            if item.name not in values:
                continue
            value, kinds = values[item.name], typing.get_args(hints[item.name]) or (hints[item.name],)
            allowed = tuple(kind for kind in kinds if kind is not type(None))
            if not allowed or not all(kind in SCALARS for kind in allowed):
                continue  # lists, mappings, enums: their own checks
            if value is None and type(None) in kinds:
                continue
            if not any(_fits(value, kind) for kind in allowed):
                expected = " or ".join(kind.__name__ for kind in allowed)
                raise ValueError(f"{path}: {item.name} must be {expected}, got {value!r}")
