"""Settings of both trainers (`train`, `pretrain-emotion2vec`) fitted to the run and the machine before it starts:
recipes are written for long runs on large machines, and a short test run or a small machine should neither run
silently nor be warned at."""

import os


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity, which containers and `taskset` narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def fit_to_run(training_args) -> None:
    """Refuse `max_steps` 0 (the Trainer would run one step at learning rate 0 and save it as a model); log a short
    run about ten times, so a 4-step run prints every loss; use no more dataloader workers than the cores there are
    (torch warns past that, and they would only compete)."""
    if training_args.max_steps == 0:
        raise ValueError("max_steps 0: nothing to train; give a positive number of steps (or -1 to train for "
                         "num_train_epochs)")
    steps, interval = training_args.max_steps, training_args.logging_steps
    if steps > 0 and interval >= 1 and interval > max(1, steps // 10):
        training_args.logging_steps = max(1, steps // 10)
    training_args.dataloader_num_workers = min(training_args.dataloader_num_workers, available_cores())
