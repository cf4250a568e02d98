"""What `train` and `pretrain-emotion2vec` refuse in a fresh process before TRL, transformers, torch or datasets are
imported: a recipe that is not a YAML mapping, a field it or the command line sets that no argument group has, a
value of the wrong kind for a number, flag or text field, `max_steps` 0, a dataset path that does not exist, and a
light save from a local model without a base model. Each is one line; the full parse (TRL's parser,
`HfArgumentParser`) still follows and checks everything else.

The kind and default of every field come from `recipe_fields.py`, a table generated from the argument dataclasses
(`python -m c2ser_hf.recipe_precheck` rewrites it; tests/test_training_fast_errors.py fails when it differs from
what the installed TRL and transformers declare)."""

import dataclasses
import os
import typing
from pathlib import Path
from types import SimpleNamespace

import yaml

from .dataset_source import check_source
from .model_loading import resolve_model
from .training_defaults import fit_to_run

# the kinds a field is checked for; any other field ("other": lists, mappings, choices) is left to the full parse
SCALARS = {"bool": bool, "int": int, "float": float, "str": str}
_TRUE, _FALSE = ("yes", "true", "t", "y", "1"), ("no", "false", "f", "n", "0")  # HfArgumentParser's string_to_bool
TRAIN_HINT = "c2ser-hf train --list-fields lists every field"


def field_table(groups) -> dict:
    """{field: (kind, default)} of the dataclasses `groups` as their parsers take them: kind one of SCALARS' names
    when the field holds that kind (or None), else "other"; default the field's own when it is a plain value."""
    table = {}
    for group in groups:
        hints = typing.get_type_hints(group)
        for item in dataclasses.fields(group):
            if not item.init:
                continue
            kinds = [kind for kind in (typing.get_args(hints[item.name]) or (hints[item.name],))
                     if kind is not type(None)]
            names = [name for name, kind in SCALARS.items() if kinds == [kind]]
            default = item.default if isinstance(item.default, (bool, int, float, str, type(None))) else None
            table[item.name] = (names[0] if names else "other", default)
    return table


def _fits(value, kind: str) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):  # a bool is an int to Python, not to a recipe
        return kind == "bool"
    return isinstance(value, SCALARS[kind]) or (kind == "float" and isinstance(value, int))


def _from_text(text: str, kind: str):
    """A command-line value as the parser converts it; ValueError when it cannot."""
    if kind == "bool":
        if text.lower() not in _TRUE + _FALSE:
            raise ValueError(text)
        return text.lower() in _TRUE
    return SCALARS[kind](text)


def _read_mapping(path: Path, what: str) -> dict:
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: the recipe cannot be read ({error})") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: {what} is a YAML mapping of fields")
    return values


def _refuse_unknown(values: dict, table: dict, where: str, hint: str = "") -> None:
    unknown = [str(name) for name in values if name not in table]
    if unknown:
        raise ValueError(f"{where}: no such field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
                         + (f" ({hint})" if hint else ""))


def _fit_settings(values: dict, table: dict) -> None:
    """`fit_to_run`'s refusals (max_steps 0) on the values the run will have."""
    fit_to_run(SimpleNamespace(**{name: values.get(name, table[name][1])
                                  for name in ("max_steps", "logging_steps", "dataloader_num_workers")}))


def _command_line_values(argv: list[str], table: dict) -> dict:
    """The values `--field value` / `--field=value` give the scalar fields named exactly (abbreviations and the
    rest are left to the full parse), converted as the parser converts them; a value it cannot convert is refused."""
    values = {}
    for index, token in enumerate(argv):
        name, equals, text = token.removeprefix("--").partition("=")
        if not token.startswith("--") or table.get(name, ("other",))[0] == "other":
            continue
        kind = table[name][0]
        if not equals:
            following = argv[index + 1] if index + 1 < len(argv) else None
            if following is None or following.startswith("--"):
                if kind == "bool":  # a bare flag
                    values[name] = True
                continue
            text = following
        try:
            values[name] = _from_text(text, kind)
        except ValueError:
            raise ValueError(f"argument --{name}: invalid {kind} value: {text!r} ({TRAIN_HINT})") from None
    return values


def precheck_train(recipe: str | None, argv: list[str]) -> None:
    """`c2ser-hf train --config RECIPE ARGV…`: refuse in one line what can be refused before TRL is imported."""
    from .recipe_fields import TRAIN_FIELDS
    from .training.recipes import recipe_path
    from .training.save_format import check_save_format

    values = {}
    if recipe:
        path = Path(recipe_path(recipe))
        values = _read_mapping(path, "a recipe")
        values.pop("env", None)  # environment variables TRL's parser sets
        _refuse_unknown(values, TRAIN_FIELDS, str(path), TRAIN_HINT)
        for name, value in values.items():
            kind = TRAIN_FIELDS[name][0]
            if kind == "other" or kind == "str" and not isinstance(value, str):
                continue
            if isinstance(value, str) and kind != "str":  # the parser converts a text default as it converts argv
                try:
                    values[name] = _from_text(value, kind)
                except ValueError:
                    raise ValueError(f"{path}: {name} must be {kind}, got {value!r} ({TRAIN_HINT})") from None
            elif not _fits(value, kind):
                raise ValueError(f"{path}: {name} must be {kind}, got {value!r} ({TRAIN_HINT})")
    values.update(_command_line_values(argv, TRAIN_FIELDS))
    _fit_settings(values, TRAIN_FIELDS)
    dataset = values.get("dataset_name", TRAIN_FIELDS["dataset_name"][1])
    if isinstance(dataset, str):
        check_source(dataset)
    model = values.get("model_name_or_path")
    if isinstance(model, str) and os.path.isdir(os.path.expanduser(model)):  # a Hub id is looked up in the full check
        config = resolve_model(model, "c2ser", "model_name_or_path must be a C2SER model", local_only=True).config
        check_save_format(model, config, values.get("save_format", TRAIN_FIELDS["save_format"][1]))


def dataset_paths(datasets) -> list:
    """The local folders and Hub ids a pretraining recipe's corpora are read from (a packaged builder reads its
    data_dir)."""
    return [entry[key] for entry in (datasets if isinstance(datasets, list) else []) if isinstance(entry, dict)
            for key in ("path", "data_dir") if isinstance(entry.get(key), str)]


def read_pretraining_recipe(recipe: str | Path, overrides: list[str] = ()) -> dict:
    """The fields of a `pretrain-emotion2vec` recipe with its `FIELD=VALUE` overrides (values read as YAML)."""
    path = Path(recipe)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: recipe file does not exist")
    values = _read_mapping(path, "a recipe")
    for override in overrides:
        name, sep, text = override.partition("=")
        if not sep or not name:
            raise ValueError(f"--set {override!r}: expected FIELD=VALUE")
        try:
            values[name.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"--set {override!r}: the value is not valid YAML "
                             f"({' '.join(str(error).split())})") from None
    return values


def precheck_pretraining(recipe: str | Path, overrides: list[str] = ()) -> None:
    """`c2ser-hf pretrain-emotion2vec --config RECIPE --set …`: refuse in one line what can be refused before
    transformers is imported."""
    from .recipe_fields import PRETRAINING_FIELDS

    values = read_pretraining_recipe(recipe, overrides)
    _refuse_unknown(values, PRETRAINING_FIELDS, str(recipe))
    for name, value in values.items():
        kind = PRETRAINING_FIELDS[name][0]
        if kind != "other" and not _fits(value, kind):
            raise ValueError(f"{recipe}: {name} must be {kind}, got {value!r}")
    _fit_settings(values, PRETRAINING_FIELDS)
    for source in dataset_paths(values.get("datasets")):
        check_source(source)
    model = values.get("model")
    if isinstance(model, str) and os.path.isdir(os.path.expanduser(model)):
        resolve_model(model, "emotion2vec_s", "pretraining needs an Emotion2Vec-S / emotion2vec model", local_only=True)


def recipe_fields_source() -> str:
    """The text of `recipe_fields.py`, generated from the argument dataclasses (imports TRL and transformers)."""
    from transformers import TrainingArguments

    from .emotion2vec_training.arguments import Emotion2VecPretrainingArguments
    from .training.arguments import C2SERDataArguments, C2SERModelArguments, C2SERTrainingConfig

    def table(name: str, groups) -> str:
        rows = "".join(f"    {field!r}: {entry!r},\n" for field, entry in sorted(field_table(groups).items()))
        return f"{name} = {{\n{rows}}}\n"

    return ('"""The fields of the training recipes: {name: (kind, default)}. Generated by `python -m '
            'c2ser_hf.recipe_precheck`\nfrom the argument dataclasses; do not edit (see recipe_precheck.py)."""\n\n'
            + table("TRAIN_FIELDS", (C2SERDataArguments, C2SERTrainingConfig, C2SERModelArguments)) + "\n"
            + table("PRETRAINING_FIELDS", (Emotion2VecPretrainingArguments, TrainingArguments)))


if __name__ == "__main__":
    Path(__file__).with_name("recipe_fields.py").write_text(recipe_fields_source(), encoding="utf-8")
