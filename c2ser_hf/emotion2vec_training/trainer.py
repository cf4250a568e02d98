"""The HF Trainer for Emotion2Vec-S pretraining: logs the three losses, keeps data2vec 2.0's weight-decay groups and
stops (or skips a step) where the loss or gradient norm is not finite."""

import torch
from transformers import Trainer

from ..divergence_guard import DivergenceGuard
from .ema import EMATeacherCallback

LOSSES = ("frame_loss", "utterance_loss", "category_loss")


class Emotion2VecPretrainer(DivergenceGuard, Trainer):
    """`Trainer` that logs L_frm, L_utt and L_cate (means over the logging interval and the ranks) and the EMA
    decay beside `loss`, and, like data2vec 2.0, exempts biases, 1-D tensors (norms) and the ALiBi scales from weight
    decay. `on_nonfinite` ("stop" or "skip"): what a step whose loss or gradient norm is not finite does
    (`DivergenceGuard`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loss_sums = torch.zeros(len(LOSSES))
        self._loss_count = 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(**inputs)
        self._loss_sums += torch.stack([getattr(outputs, name).detach().float().cpu() for name in LOSSES])
        self._loss_count += 1
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._loss_count and "loss" in logs:
            means = self._loss_sums.to(self.args.device) / self._loss_count
            means = self.accelerator.reduce(means, reduction="mean")
            logs.update({name: round(value, 6) for name, value in zip(LOSSES, means.tolist())})
            self._loss_sums.zero_()
            self._loss_count = 0
            for callback in self.callback_handler.callbacks:
                if isinstance(callback, EMATeacherCallback):
                    logs["ema_decay"] = callback.decay
        super().log(logs, start_time)

    def get_decay_parameter_names(self, model) -> list[str]:
        return [
            name
            for name, param in model.named_parameters()
            if param.dim() > 1 and not name.endswith(".bias") and "alibi_scale" not in name
        ]
