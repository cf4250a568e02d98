"""The EMA teacher's update after every optimizer step, with data2vec 2.0's decay schedule."""

from transformers import TrainerCallback


def ema_decay(step: int, start: float, end: float, anneal_steps: int) -> float:
    """data2vec 2.0's schedule: linear from `start` at step 0 to `end` at `anneal_steps`, then `end`."""
    if anneal_steps <= 0 or step >= anneal_steps:
        return end
    return end - (end - start) * (1 - step / anneal_steps)


class EMATeacherCallback(TrainerCallback):
    """After optimizer step n (`state.global_step` = n): teacher <- d_n * teacher + (1 - d_n) * student, with
    d_n = `ema_decay(n, start, end, anneal_steps)`; no update once the decay reaches 1."""

    def __init__(self, start: float = 0.999, end: float = 0.99999, anneal_steps: int = 20000):
        self.start, self.end, self.anneal_steps = start, end, anneal_steps
        self.decay = start

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.decay = ema_decay(state.global_step, self.start, self.end, self.anneal_steps)
        if self.decay < 1:
            getattr(model, "module", model).update_teacher(self.decay)
