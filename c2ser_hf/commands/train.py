"""`c2ser-hf train`: train or fine-tune C2SER with TRL from a YAML recipe.

Every field of the recipe's three argument groups can be set in the YAML or as `--field value` after it, as TRL's
scripts take them: data (TRL's ScriptArguments plus column names), training (TRL's SFTConfig plus the
chain-of-thought schedule and the save format) and model (starting point, LoRA, trained parts); `--list-fields`
prints them all. The trained model is written to OUTPUT_DIR/model; running the same command again after an
interruption resumes from the last complete checkpoint. Several GPUs or machines: `accelerate launch --config_file
$(c2ser-hf train --launch-config multi_gpu.yaml) -m c2ser_hf.cli train ...`.
"""

HELP = "train or fine-tune C2SER from a recipe (stage 1 explicit, stage 2 implicit chain of thought)"
# the recipe's fields are read by TRL's parser in `run`, so this command takes options it does not declare
TAKES_UNDECLARED_OPTIONS = True
# c2ser_hf/training/recipes (named here to keep --help light; tests keep them equal)
RECIPES = ("stage1_explicit", "stage2_implicit")
LAUNCH_CONFIGS = ("deepspeed_zero2.yaml", "deepspeed_zero3.yaml", "fsdp.yaml", "multi_gpu.yaml", "multi_node.yaml",
                  "single_gpu.yaml")


def add_arguments(parser) -> None:
    parser.add_argument("--config", metavar="RECIPE", help=f"a shipped recipe ({', '.join(RECIPES)}) or a YAML "
                        "file; any --field value after it overrides it")
    parser.add_argument("--list-fields", action="store_true",
                        help="print every field a recipe or the command line can set, with its default, and exit")
    parser.add_argument("--launch-config", choices=LAUNCH_CONFIGS,
                        help="print the path of a shipped accelerate configuration and exit")


def run(args) -> int:
    from ..training.recipes import launch_config, parse_recipe, recipe_parser

    if args.launch_config:
        print(launch_config(args.launch_config))
        return 0
    if args.list_fields:
        recipe_parser().print_help()
        return 0
    from ..recipe_precheck import precheck_train

    precheck_train(args.config, list(args.undeclared))  # in one line, before TRL, torch or datasets are imported
    from ..training.run import train_c2ser

    argv = (["--config", args.config] if args.config else []) + list(args.undeclared)
    folder = train_c2ser(*parse_recipe(argv))
    print(f"wrote the trained model to {folder}")
    return 0
