"""The divergence guard of both trainers (C2SER's and Emotion2Vec-S pretraining's): the first optimizer step whose loss
or gradient norm is not finite stops the run before the optimizer applies it, in one line naming the step and the last
good checkpoint; nothing more is saved. With `on_nonfinite="skip"` that step's update is dropped instead, counted
(`train/skipped_nonfinite_steps` in the logs, kept across a resume) and reported when training ends. A final model is
never written from weights that are not finite.

transformers' Trainer computes a step's gradient norm in `_get_grad_norm`, after the step's backward passes and before
its optimizer step, and hands it to no callback there; so `DivergenceGuard` overrides that method (and `training_step`,
for each micro-batch's loss) rather than computing the norm a second time in a callback.
"""

import logging
import os

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import get_last_checkpoint

logger = logging.getLogger(__name__)

NONFINITE_ACTIONS = ("stop", "skip")
SKIPPED_KEY = "train/skipped_nonfinite_steps"
NONFINITE_HELP = ("a step whose loss or gradient norm is not finite: stop (the run ends there, naming the step and "
                  "the last good checkpoint) or skip (its update is dropped and counted)")


class TrainingDivergedError(RuntimeError):
    """A training step's loss or gradient norm was not finite (the CLI prints the message and exits 2)."""


def check_nonfinite_action(value: str) -> None:
    if value not in NONFINITE_ACTIONS:
        raise ValueError(f"on_nonfinite must be one of {NONFINITE_ACTIONS}, got {value!r}")


def check_finite_weights(tensors: dict, what) -> None:
    """Raise ValueError naming `what` and its first tensors whose values are not all finite (NaN or ±inf)."""
    bad = [name for name, tensor in tensors.items()
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        raise ValueError(f"{what}: {len(bad)} of {len(tensors)} weight tensors hold NaN or infinite values "
                         f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}): training diverged")


class SkippedSteps(TrainerCallback, ExportableState):
    """The steps skipped for a non-finite loss or gradient norm. Its state is written into each checkpoint's trainer
    state, and read back from the resumed state, so a resumed run counts on from the interrupted one."""

    def __init__(self):
        self.steps = []

    def state(self) -> dict:
        return {"args": {}, "attributes": {"steps": list(self.steps)}}

    def on_train_begin(self, args, state, control, **kwargs):
        saved = (state.stateful_callbacks or {}).get(type(self).__name__)
        self.steps = list(saved["attributes"]["steps"]) if isinstance(saved, dict) else []

    def on_train_end(self, args, state, control, **kwargs):
        if self.steps and state.is_world_process_zero:
            shown = ", ".join(map(str, self.steps[:20])) + (", ..." if len(self.steps) > 20 else "")
            logger.warning("%d of %d optimizer steps were skipped, their loss or gradient norm not finite: steps %s",
                           len(self.steps), state.global_step, shown)


class DivergenceGuard:
    """Mixin for a `transformers.Trainer` subclass, placed before it: `class T(DivergenceGuard, Trainer)`. Takes
    `on_nonfinite` ("stop" or "skip") beside the Trainer's own arguments."""

    def __init__(self, *args, on_nonfinite: str = "stop", **kwargs):
        check_nonfinite_action(on_nonfinite)
        super().__init__(*args, **kwargs)
        if on_nonfinite == "skip" and self.is_deepspeed_enabled:
            raise ValueError("on_nonfinite=skip needs the Trainer's optimizer step; DeepSpeed takes its own (it skips "
                             "fp16 overflow steps itself): use on_nonfinite=stop")
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = SkippedSteps()
        self.add_callback(self.skipped_steps)
        self._step_loss = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        self._step_loss = loss.detach() if self._step_loss is None else self._step_loss + loss.detach()
        return loss

    def _get_grad_norm(self, model, grad_norm=None):
        grad_norm = super()._get_grad_norm(model, grad_norm)
        loss, self._step_loss = self._step_loss, None
        values = torch.stack([torch.as_tensor(value, dtype=torch.float32).to(self.args.device).reshape(())
                              for value in (loss, grad_norm)])
        # every rank takes the same decision: one rank's non-finite loss is everyone's
        values = self.accelerator.reduce(values, reduction="sum")
        checked = values if self.accelerator.scaler is None else values[:1]
        if bool(torch.isfinite(checked).all()):
            return grad_norm
        # (fp16: a non-finite gradient norm is an overflow the grad scaler skips and answers by lowering its scale)
        step = self.state.global_step + 1
        found = f"loss {values[0].item():.6g}, gradient norm {values[1].item():.6g}"
        if self.on_nonfinite == "skip":
            model.zero_grad(set_to_none=True)  # the optimizer leaves parameters without a gradient as they are
            self.skipped_steps.steps.append(step)
            logger.warning("step %d skipped: %s", step, found)
            return grad_norm
        last = get_last_checkpoint(self.args.output_dir) if os.path.isdir(self.args.output_dir) else None
        raise TrainingDivergedError(
            f"training diverged at step {step} ({found}): "
            + (f"the last good checkpoint is {last}" if last else "no checkpoint was saved before it")
            + "; no model was saved (on_nonfinite=skip drops such steps instead)")

    def log(self, logs: dict, start_time: float | None = None) -> None:
        if self.on_nonfinite == "skip" and ("loss" in logs or "train_loss" in logs):
            logs[SKIPPED_KEY] = len(self.skipped_steps.steps)
        super().log(logs, start_time)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        if not _internal_call:
            check_finite_weights(self.accelerator.unwrap_model(self.model).state_dict(),
                                 f"the trained model for {output_dir or self.args.output_dir}")
        super().save_model(output_dir, _internal_call)
