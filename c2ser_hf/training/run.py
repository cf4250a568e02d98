"""One training run, as `c2ser-hf train` does it: inputs and output folder checked, data, starting point, trainer,
resume, the saved model."""

import os
import re

from ..dataset_io import check_source
from ..model_loading import resolve_model
from ..skipped_rows import SkippedRowsLog
from ..training_defaults import fit_to_run
from ..training_folder import check_results_folder, training_folder
from .arguments import C2SERDataArguments, C2SERModelArguments, C2SERTrainingConfig
from .assembly import load_starting_point
from .collator import CoTCollator
from .data import load_training_data
from .save_format import check_save_format
from .trainer import TRAINED_MODEL_FOLDER, C2SERTrainer

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
PARTS = ("whisper", "emotion2vec", "language_model")


def last_complete_checkpoint(output_dir) -> str | None:
    """The newest `checkpoint-N` in `output_dir` that was written to the end (its trainer state is written last)."""
    if not os.path.isdir(output_dir):
        return None
    steps = [int(m.group(1)) for name in os.listdir(output_dir) if (m := _CHECKPOINT.match(name))
             and os.path.isfile(os.path.join(output_dir, name, "trainer_state.json"))]
    return os.path.join(output_dir, f"checkpoint-{max(steps)}") if steps else None


def _run(data_args: C2SERDataArguments, training_args: C2SERTrainingConfig, model_args: C2SERModelArguments):
    """What a rerun must match to resume the run in the output folder (the same start, data and seed)."""
    start = model_args.model_name_or_path or {name: getattr(model_args, name) for name in PARTS}
    return {"command": "train", "start": start, "dataset": data_args.dataset_name,
            "config": data_args.dataset_config, "split": data_args.dataset_train_split, "seed": training_args.seed}


def check_run(data_args: C2SERDataArguments, training_args: C2SERTrainingConfig,
              model_args: C2SERModelArguments) -> list:
    """Everything that can be refused without loading a model or reading a row, in one line each: the settings
    (`fit_to_run`), the dataset's path, a light save from a start without a base model, and the output folder (see
    `training_folder`). Returns the inputs the output folder must stay apart from."""
    fit_to_run(training_args)
    if data_args.dataset_name:
        check_source(data_args.dataset_name)
    if model_args.model_name_or_path:
        config = resolve_model(model_args.model_name_or_path, "c2ser", "model_name_or_path must be a C2SER model")
        check_save_format(model_args.model_name_or_path, config.config, training_args.save_format)
    inputs = [data_args.dataset_name, model_args.model_name_or_path, *(getattr(model_args, n) for n in PARTS)]
    if training_args.process_index == 0:  # the main process holds the folder; the others write nothing there
        check_results_folder(training_args.output_dir, inputs)
    return inputs


def train_c2ser(data_args: C2SERDataArguments, training_args: C2SERTrainingConfig,
                model_args: C2SERModelArguments) -> str:
    """Train, then save the model (light or merged) to `OUTPUT_DIR/model`; returns that folder. Inputs and the output
    folder are checked first (`check_run`); the data is read before the model loads. A rerun of the same run resumes
    from the newest complete checkpoint in its output folder, unless `resume_from_checkpoint` names another;
    `overwrite_output_dir` starts another run there instead, deleting only the earlier run's files."""
    inputs = check_run(data_args, training_args, model_args)
    with training_folder(training_args.output_dir, _run(data_args, training_args, model_args),
                         overwrite=training_args.overwrite_output_dir, inputs=inputs,
                         main_process=training_args.process_index == 0) as recorder:
        skipped = []
        train, evaluation = load_training_data(data_args, training_args.world_size,
                                               training_args.dataloader_num_workers, skipped)
        start = load_starting_point(model_args, training_args)
        described = data_args.dataset_name + (f" ({data_args.dataset_config})" if data_args.dataset_config else "")
        described += f", split {data_args.dataset_train_split}" + (
            "" if data_args.dataset_streaming else f", {len(train)} rows")
        collator = CoTCollator(start.processor, data_args.audio_column, data_args.explicit_column,
                               data_args.implicit_column, audio_feature=train.features[data_args.audio_column])
        trainer = C2SERTrainer(start, training_args, train_dataset=train, data_collator=collator,
                               eval_dataset=evaluation if training_args.eval_strategy != "no" else None,
                               dataset_description=described, callbacks=[recorder] if recorder else None)
        SkippedRowsLog(skipped).add_to(trainer)
        resume = training_args.resume_from_checkpoint or last_complete_checkpoint(training_args.output_dir)
        if resume and training_args.should_save:
            print(f"resuming from {resume}")
        trainer.train(resume_from_checkpoint=resume)
        trainer.save_model()
        if recorder:
            recorder.record(TRAINED_MODEL_FOLDER)
    return os.path.join(training_args.output_dir, TRAINED_MODEL_FOLDER)
