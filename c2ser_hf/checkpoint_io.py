"""Loading the official pickled checkpoints safely, and writing output folders atomically."""

import argparse
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from .option_error import output_exists

try:
    from numpy._core import multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray

# Plain-data globals that fairseq/wenet checkpoint metadata contains (numpy scalars in logged metrics, an
# argparse Namespace as old fairseq `args`). Anything else in a pickle is refused, code first of all.
ALLOWED_GLOBALS = {
    "argparse.Namespace": argparse.Namespace,
    "numpy.dtype": np.dtype,
    "numpy.ndarray": np.ndarray,
    **{f"numpy.{core}.multiarray.{name}": getattr(multiarray, name)
       for core in ("core", "_core") for name in ("scalar", "_reconstruct")},
}


class UnsafeCheckpointError(RuntimeError):
    """The pickle references something other than tensors and plain data."""


def load_pickled_checkpoint(path: str | os.PathLike, mmap: bool = False) -> dict:
    """`torch.load(weights_only=True)` with only `ALLOWED_GLOBALS` admitted; raises naming any other global."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file does not exist")
    try:
        referenced = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as error:
        raise UnsafeCheckpointError(f"{path}: not a readable torch checkpoint ({error})") from error
    refused = sorted(name for name in referenced if name not in ALLOWED_GLOBALS)
    if refused:
        raise UnsafeCheckpointError(
            f"{path}: refusing to unpickle: it references {refused}, which are not plain data "
            f"(allowed: tensors, containers and {sorted(ALLOWED_GLOBALS)})"
        )
    # numpy dtype instances are rebuilt as their per-dtype classes, which the scan above does not list
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG"]
    safe = [(ALLOWED_GLOBALS[name], name) for name in referenced] + dtype_classes
    with torch.serialization.safe_globals(safe):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def check_output_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> None:
    """Refuse an output folder that may not be written, before any work is done."""
    if Path(out_dir).exists() and not overwrite:
        raise output_exists(out_dir)


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | os.PathLike, overwrite: bool = False):
    """Yield a temporary folder beside `out_dir`; it becomes `out_dir` only if the block completes."""
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    try:
        yield staging
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
