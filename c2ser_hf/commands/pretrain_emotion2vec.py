"""Pretrain Emotion2Vec-S (or emotion2vec) on the Hugging Face Trainer from a YAML recipe.

The recipe holds the model to start from (a converted folder, or a new model's config), the corpora (labelled ones
feed the category-level contrastive loss, unlabelled ones only the self-distillation losses), the EMA schedule and
any `transformers.TrainingArguments` field. The shipped recipe reproduces the paper's settings:
`c2ser_hf/emotion2vec_training/recipes/emotion2vec_s.yaml`. A run resumes from the last checkpoint in its
`output_dir`. Many processes: `torchrun --nproc_per_node N --no-python c2ser-hf pretrain-emotion2vec ...` (or
`accelerate launch`); DeepSpeed through the recipe's `deepspeed` field.
"""

HELP = "pretrain Emotion2Vec-S / emotion2vec (self-distillation + category contrast) from a YAML recipe"


def add_arguments(parser) -> None:
    parser.add_argument("--config", required=True, help="recipe YAML (see emotion2vec_training/recipes/)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a recipe field, the value read as YAML (repeatable), e.g. --set max_steps=10")


def run(args) -> int:
    from ..recipe_precheck import precheck_pretraining

    precheck_pretraining(args.config, args.set)  # in one line, before transformers, torch or datasets are imported
    from accelerate import PartialState

    from ..emotion2vec_training import parse_recipe, pretrain

    pretraining_args, training_args = parse_recipe(args.config, args.set)
    out = pretrain(pretraining_args, training_args)
    if PartialState().is_main_process:
        print(f"pretrained model in {out} (AutoModel loads its encoder; continue pretraining from it the same way)")
    return 0
