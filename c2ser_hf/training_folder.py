"""The output folder of a training run (`c2ser-hf train`, `pretrain-emotion2vec`) under the package's output-folder
rules (`output_folder.py`), as a results folder: refused before anything loads when it holds files c2ser-hf did not
write or overlaps an input (the starting model, a dataset); held by one writer at a time (the OS lock); a rerun of
the same run resumes from its checkpoints, another run is refused unless `overwrite_output_dir`, which deletes only
the files the marker lists. A trainer names its checkpoints only as it writes them, so each saved checkpoint is
added to the marker as soon as it is complete (`RecordCheckpoints`), and the final model once it is written."""

import contextlib
from pathlib import Path

from transformers import TrainerCallback

from .output_folder import check_results_folder, listed_files, record_written, results_folder

# what a trainer writes beside its checkpoints: TRL's model card (C2SER), the final model's files (Emotion2Vec-S)
TRAINER_FILES = ("README.md",)


class RecordCheckpoints(TrainerCallback):
    """Adds each checkpoint the trainer saves (and its model card) to the output folder's marker."""

    def __init__(self, folder: Path):
        self.folder = folder

    def on_save(self, args, state, control, **kwargs):
        self.record(f"checkpoint-{state.global_step}", *TRAINER_FILES)

    def record(self, *paths) -> None:
        record_written(self.folder, paths)


def _remove_emptied(out: Path, removed: list[str]) -> None:
    """The folders an overwrite emptied (each checkpoint-N of the earlier run), deepest first; none of them holds
    anything else, since a folder is removed only when empty."""
    for folder in sorted({p for name in removed for p in Path(name).parents if p != Path(".")},
                         key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            (out / folder).rmdir()


@contextlib.contextmanager
def training_folder(out_dir, run: dict, files=(), overwrite: bool = False, inputs=(), main_process: bool = True):
    """Hold `out_dir` for the training run `run` (a JSON-able description: what a rerun must match to resume), which
    writes `files` there beside its checkpoints; yields the `RecordCheckpoints` callback to give the trainer (None on
    processes other than the main one, which write nothing themselves)."""
    if not main_process:
        yield None
        return
    earlier = listed_files(out_dir) if overwrite and Path(out_dir).is_dir() else []
    with results_folder(out_dir, run, [*TRAINER_FILES, *files], overwrite, inputs) as out:
        if overwrite:
            _remove_emptied(out, earlier)
        yield RecordCheckpoints(out)


__all__ = ["RecordCheckpoints", "check_results_folder", "training_folder"]
