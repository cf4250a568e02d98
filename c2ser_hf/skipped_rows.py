"""How many rows a training run left out because their audio could not be read, in its logs (`data/skipped_rows`),
once, at the run's first log; each row was named in a warning when the data was loaded (`dataset_io.readable_rows`)."""

from transformers import TrainerCallback

SKIPPED_ROWS_KEY = "data/skipped_rows"


class SkippedRowsLog(TrainerCallback):
    """Adds the count to the first logs of the run. Put first among the trainer's callbacks (`add_to`), so the
    console, the reporting integrations and the trainer state all see it."""

    def __init__(self, skipped: list[str]):
        self.count, self.pending = len(skipped), True

    def add_to(self, trainer) -> None:
        trainer.callback_handler.callbacks.insert(0, self)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.pending and logs is not None:
            self.pending = False
            logs[SKIPPED_ROWS_KEY] = self.count
            if state.log_history:  # the Trainer recorded a copy of `logs` just before calling back
                state.log_history[-1][SKIPPED_ROWS_KEY] = self.count
