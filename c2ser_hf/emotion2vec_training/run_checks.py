"""What `pretrain-emotion2vec` refuses before it loads a model or reads a clip, and what identifies its run."""

from ..dataset_source import check_source
from ..model_loading import resolve_model
from ..recipe_precheck import dataset_paths
from ..training_defaults import fit_to_run
from ..training_folder import check_results_folder
from .arguments import Emotion2VecPretrainingArguments

# what the run writes into output_dir beside its checkpoints: the final model and its feature extractor
FINAL_FILES = ("config.json", "model.safetensors", "preprocessor_config.json")


def check_pretraining_run(args: Emotion2VecPretrainingArguments, training_args) -> list:
    """The settings (`fit_to_run`), each corpus's path, the starting model's folder and kind, and the output folder
    (`training_folder`), each refused in one line; returns the inputs the output folder must stay apart from."""
    fit_to_run(training_args)
    if args.streaming and training_args.max_steps <= 0:
        raise ValueError("streaming corpora have no length: set max_steps")
    for source in dataset_paths(args.datasets):
        check_source(source)
    if args.model is not None:
        resolve_model(args.model, "emotion2vec_s", "pretraining needs an Emotion2Vec-S / emotion2vec model")
    inputs = [args.model, *dataset_paths(args.datasets)]
    if training_args.process_index == 0:  # the main process holds the folder; the others write nothing there
        check_results_folder(training_args.output_dir, inputs)
    return inputs


def pretraining_run(args: Emotion2VecPretrainingArguments, training_args) -> dict:
    """What a rerun must match to resume the run in the output folder: the same start, corpora and seed."""
    return {"command": "pretrain-emotion2vec", "model": args.model, "model_config": args.model_config,
            "datasets": args.datasets, "seed": training_args.seed}
