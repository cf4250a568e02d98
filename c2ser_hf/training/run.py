"""One training run, as `c2ser-hf train` does it: starting point, data, trainer, resume, the saved model."""

import os
import re

from .arguments import C2SERDataArguments, C2SERModelArguments, C2SERTrainingConfig
from .assembly import load_starting_point
from .collator import CoTCollator
from .data import load_training_data
from .trainer import TRAINED_MODEL_FOLDER, C2SERTrainer

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def last_complete_checkpoint(output_dir) -> str | None:
    """The newest `checkpoint-N` in `output_dir` that was written to the end (its trainer state is written last)."""
    if not os.path.isdir(output_dir):
        return None
    steps = [int(m.group(1)) for name in os.listdir(output_dir) if (m := _CHECKPOINT.match(name))
             and os.path.isfile(os.path.join(output_dir, name, "trainer_state.json"))]
    return os.path.join(output_dir, f"checkpoint-{max(steps)}") if steps else None


def train_c2ser(data_args: C2SERDataArguments, training_args: C2SERTrainingConfig,
                model_args: C2SERModelArguments) -> str:
    """Train, then save the model (light or merged) to `OUTPUT_DIR/model`; returns that folder. A run whose output
    folder holds a complete checkpoint resumes from the newest one, unless `resume_from_checkpoint` names another."""
    start = load_starting_point(model_args, training_args)
    train, evaluation = load_training_data(data_args, training_args.world_size, training_args.dataloader_num_workers)
    described = data_args.dataset_name + (f" ({data_args.dataset_config})" if data_args.dataset_config else "")
    described += f", split {data_args.dataset_train_split}" + (
        "" if data_args.dataset_streaming else f", {len(train)} rows")
    collator = CoTCollator(start.processor, data_args.audio_column, data_args.explicit_column,
                           data_args.implicit_column, audio_feature=train.features[data_args.audio_column])
    trainer = C2SERTrainer(start, training_args, train_dataset=train, data_collator=collator,
                           eval_dataset=evaluation if training_args.eval_strategy != "no" else None,
                           dataset_description=described)
    resume = training_args.resume_from_checkpoint or last_complete_checkpoint(training_args.output_dir)
    if resume and training_args.should_save:
        print(f"resuming from {resume}")
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_model()
    return os.path.join(training_args.output_dir, TRAINED_MODEL_FOLDER)
