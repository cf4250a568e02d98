"""`C2SERTrainer`: TRL's `SFTTrainer` with the per-step explicit/implicit choice, and C2SER model folders as output.

The choice is made in `get_batch_samples`: the Trainer calls it in the main process once per optimizer step, with
all of the step's micro-batches and `state.global_step` equal to the step about to run, which is exactly what the
schedule needs (a collator runs ahead of the step, in dataloader workers). Each micro-batch's variant comes from
a draw seeded by (seed, step, micro-batch), so every rank and a resumed run choose the same.
"""

import os

import numpy as np
from trl import SFTTrainer

from ..divergence_guard import DivergenceGuard, check_finite_weights
from ..hub import push_to_hub
from .assembly import StartingPoint, whole_models
from .collator import CoTCollator, select_variant
from .export import NO_BASE_MODEL, save_trained
from .schedule import choose_explicit, explicit_probability

TRAINED_MODEL_FOLDER = "model"  # the final model, inside output_dir beside the checkpoints


class C2SERTrainer(DivergenceGuard, SFTTrainer):
    """Trains a C2SER starting point (see `load_starting_point`) on a chain-of-thought dataset.

    `args` is a `C2SERTrainingConfig`. Logged each step: `cot/explicit_probability` (the schedule's value) and
    `cot/explicit_fraction` (the share of the step's micro-batches that were explicit); `cot_choices` keeps this
    process's choices as (step, micro-batch, explicit) for inspection. `save_model()` writes a C2SER model folder
    (light or merged, with its model card) and publishes it when `push_to_hub` is set; checkpoints stay peft's.
    A step whose loss or gradient norm is not finite stops the run, or is skipped (`args.on_nonfinite`, see
    `DivergenceGuard`).
    """

    def __init__(self, start: StartingPoint, args, train_dataset=None, eval_dataset=None, data_collator=None,
                 dataset_description: str | None = None, **kwargs):
        if args.save_format == "light" and start.base_model is None:
            raise ValueError(f"{start.source}: {NO_BASE_MODEL}")
        self.start = start
        self.dataset_description = dataset_description
        self.cot_choices = []
        super().__init__(model=start.model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                         data_collator=data_collator or CoTCollator(start.processor, audio_feature=(
                             getattr(train_dataset, "features", None) or {}).get("audio")),
                         processing_class=start.processor, on_nonfinite=args.on_nonfinite, **kwargs)

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batches, _ = super().get_batch_samples(epoch_iterator, num_batches, device)
        step = self.state.global_step
        probability = explicit_probability(self.args.cot_schedule, step, self.state.max_steps,
                                           self.args.cot_explicit_probability)
        choices = [choose_explicit(self.args.seed, step, index, probability) for index in range(len(batches))]
        self.cot_choices += [(step, index, explicit) for index, explicit in enumerate(choices)]
        self._metrics["train"]["cot/explicit_probability"].append(probability)
        self._metrics["train"]["cot/explicit_fraction"].append(float(np.mean(choices)) if choices else 0.0)
        chosen = [select_variant(batch, explicit) for batch, explicit in zip(batches, choices)]
        # the loss is normalised by the label tokens of the step's chosen variants, counted on every rank
        return chosen, self._get_num_items_in_batch(chosen, device)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = select_variant(inputs, self.args.eval_mode == "explicit")
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Checkpoints (`_internal_call`) are peft's, for resuming. Otherwise write the trained C2SER to `output_dir`
        (default `OUTPUT_DIR/model`) in `args.save_format`, then publish it when `args.push_to_hub` is set."""
        if _internal_call:
            return super().save_model(output_dir, _internal_call=True)
        output_dir = output_dir or os.path.join(self.args.output_dir, TRAINED_MODEL_FOLDER)
        if os.path.abspath(output_dir) == os.path.abspath(self.args.output_dir):
            raise ValueError(f"{output_dir}: holds the checkpoints; save the model to a folder of its own")
        state_dict = self._full_state_dict()  # collective where the model is sharded
        if self.args.should_save:
            check_finite_weights(state_dict, f"the trained model for {output_dir}")
            with whole_models(self.args):
                save_trained(state_dict, self.accelerator.unwrap_model(self.model), self.start, output_dir,
                             self.args.save_format, self._training_record())
            if self.args.push_to_hub:
                self.push_to_hub(folder=output_dir)
        self.accelerator.wait_for_everyone()

    def _full_state_dict(self) -> dict:
        if self.is_deepspeed_enabled:
            return self.accelerator.get_state_dict(self.deepspeed)
        if self.is_fsdp_enabled:
            return self.accelerator.get_state_dict(self.model)
        return self.accelerator.unwrap_model(self.model).state_dict()

    def _training_record(self) -> dict:
        args, lora = self.args, self.accelerator.unwrap_model(self.model).peft_config["default"]
        recipe = {name: getattr(args, name) for name in (
            "cot_schedule", "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "adam_beta1",
            "adam_beta2", "max_grad_norm", "per_device_train_batch_size", "gradient_accumulation_steps", "seed")}
        recipe.update(world_size=args.world_size, lora_r=lora.r, lora_alpha=lora.lora_alpha,
                      lora_dropout=lora.lora_dropout, trained_modules=sorted(lora.modules_to_save or []))
        return {"source": self.start.source, "dataset": self.dataset_description, "steps": self.state.global_step,
                "recipe": recipe}

    # Only the trained model is published, with its model card; trainer checkpoints stay local.
    def init_hf_repo(self, token: str | None = None):
        pass

    def _push_from_checkpoint(self, checkpoint_folder):
        pass

    def push_to_hub(self, commit_message: str | None = "Upload C2SER model", folder: str | None = None, **kwargs):
        folder = folder or os.path.join(self.args.output_dir, TRAINED_MODEL_FOLDER)
        repo_id = self.args.hub_model_id or os.path.basename(os.path.abspath(self.args.output_dir))
        return push_to_hub(folder, repo_id, private=bool(self.args.hub_private_repo), token=self.args.hub_token,
                           commit_message=commit_message or "Upload C2SER model")
