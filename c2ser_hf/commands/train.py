"""`c2ser-hf train`: train or fine-tune C2SER with TRL from a YAML recipe.

Every field of the recipe's three argument groups (data: TRL's `ScriptArguments` plus columns; training: TRL's
`SFTConfig` plus the chain-of-thought schedule; model: starting point, LoRA, trained parts) can be set in the YAML or
as `--field value` after it, as TRL's scripts take them. A rerun of a killed run resumes from its last checkpoint.
Multi-GPU: `accelerate launch --config_file $(c2ser-hf train --launch-config multi_gpu.yaml) -m c2ser_hf.cli train …`.
"""

import argparse

HELP = "train or fine-tune C2SER from a recipe (stage 1 explicit, stage 2 implicit chain of thought)"
# the recipe's fields are parsed by TRL's parser in `run`, so this command takes arguments it does not declare
ACCEPTS_UNKNOWN_ARGUMENTS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="recipe: a YAML file or a shipped one (stage1_explicit, stage2_implicit); "
                                         "then any --field value overrides it")
    parser.add_argument("--list-fields", action="store_true",
                        help="print every field a recipe or the command line can set, with its default, and exit")
    parser.add_argument("--launch-config", metavar="NAME",
                        help="print the path of a shipped accelerate configuration (single_gpu.yaml, multi_gpu.yaml, "
                             "multi_node.yaml, deepspeed_zero2.yaml, deepspeed_zero3.yaml, fsdp.yaml) and exit")


def run(args) -> int:
    from ..training.recipes import launch_config, parse_recipe, recipe_parser

    if args.launch_config:
        print(launch_config(args.launch_config))
        return 0
    if args.list_fields:
        recipe_parser().print_help()
        return 0
    from ..training.run import train_c2ser

    argv = (["--config", args.config] if args.config else []) + list(args.unknown)
    folder = train_c2ser(*parse_recipe(argv))
    print(f"wrote the trained model to {folder}")
    return 0
