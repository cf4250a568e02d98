"""Which target each training batch gets: the probability of an explicit (chain-of-thought) batch per optimizer step,
and the seeded draw that turns it into a choice.

Stage 1 trains on explicit targets only; stage 2 mixes whole batches, P(explicit) falling linearly from 1.0 at the
first optimizer step to 0.0 at the last (paper §III-D). The draw depends only on (seed, step, micro-batch), so every
rank, every dataloader worker count and a resumed run make the same choices.
"""

import math

import numpy as np


def _linear(step: int, total: int, constant: float) -> float:
    return 1.0 - step / (total - 1) if total > 1 else 1.0


def _cosine(step: int, total: int, constant: float) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * step / (total - 1))) if total > 1 else 1.0


def _step(step: int, total: int, constant: float) -> float:
    # stage 1 then stage 2 in one run: explicit for the first half of the steps, implicit after
    return 1.0 if step < total / 2 else 0.0


SCHEDULES = {
    "explicit": lambda step, total, constant: 1.0,  # stage 1
    "implicit": lambda step, total, constant: 0.0,
    "linear": _linear,  # stage 2, the paper's
    "cosine": _cosine,
    "step": _step,
    "constant": lambda step, total, constant: constant,
}


def explicit_probability(schedule: str, step: int, total_steps: int, constant: float = 0.5) -> float:
    """P(explicit) at optimizer step `step` (0-based) of `total_steps`; `constant` is the probability of the
    "constant" schedule."""
    if schedule not in SCHEDULES:
        raise ValueError(f"cot_schedule {schedule!r} is not one of {', '.join(SCHEDULES)}")
    if not 0.0 <= constant <= 1.0:
        raise ValueError(f"cot_explicit_probability must lie in [0, 1], got {constant}")
    return SCHEDULES[schedule](step, total_steps, constant)


def choose_explicit(seed: int, step: int, micro_batch: int, probability: float) -> bool:
    """The seeded draw for one micro-batch: explicit with `probability` (always at 1.0, never at 0.0)."""
    return bool(np.random.default_rng([seed, step, micro_batch]).random() < probability)
