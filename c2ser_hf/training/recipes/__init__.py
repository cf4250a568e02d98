"""Shipped training recipes (YAML, TRL-style: any field of the data, training and model arguments) and accelerate
launch configurations (`accelerate/`)."""

import sys
from pathlib import Path

FOLDER = Path(__file__).parent
RECIPES = tuple(sorted(path.stem for path in FOLDER.glob("*.yaml")))
LAUNCH_CONFIGS = tuple(sorted(path.name for path in (FOLDER / "accelerate").iterdir()))


def recipe_path(recipe: str) -> str:
    """A shipped recipe's file by name (`stage1_explicit`, `stage2_implicit`), or `recipe` itself (a YAML path)."""
    if recipe in RECIPES:
        return str(FOLDER / f"{recipe}.yaml")
    if not Path(recipe).is_file():
        raise FileNotFoundError(f"{recipe}: no such recipe file (shipped recipes: {', '.join(RECIPES)})")
    return recipe


def launch_config(name: str) -> str:
    """A shipped accelerate (or DeepSpeed) configuration file by name, e.g. `deepspeed_zero3.yaml`."""
    if name not in LAUNCH_CONFIGS:
        raise FileNotFoundError(f"{name}: no such launch configuration (shipped: {', '.join(LAUNCH_CONFIGS)})")
    return str(FOLDER / "accelerate" / name)


def recipe_parser():
    """TRL's parser over the three argument groups: data, training (`SFTConfig` and more), model."""
    from trl import TrlParser

    from ..arguments import C2SERDataArguments, C2SERModelArguments, C2SERTrainingConfig

    parser = TrlParser((C2SERDataArguments, C2SERTrainingConfig, C2SERModelArguments))
    parser.error = _refuse  # one line, as every bad input of the CLI (argparse prints its whole usage first)
    return parser


def _refuse(message: str):
    raise ValueError(f"{message} (c2ser-hf train --list-fields lists every field)")


def parse_recipe(argv: list[str] | None = None):
    """(data, training, model) arguments from `--config RECIPE` (a shipped name or a YAML file) and `--field value`
    overrides (default: the command line), parsed as TRL's scripts parse theirs."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--config" in argv:
        where = argv.index("--config") + 1
        if where == len(argv):
            raise ValueError("--config needs a recipe: a YAML file or one of " + ", ".join(RECIPES))
        argv[where] = recipe_path(argv[where])
    return recipe_parser().parse_args_and_config(argv)
