"""Loading the official pickled checkpoints safely."""

import argparse
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

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


# torch.save stores every record uncompressed; a compressed record that would inflate past both bounds is refused
# from the sizes the archive declares, before anything is read (a small file must not fill the memory).
MAX_INFLATION_RATIO = 100
MAX_INFLATED_BYTES = 2**24


class UnsafeCheckpointError(RuntimeError):
    """The pickle references something other than tensors and plain data, or the archive would inflate to a size
    out of proportion to the file."""


def _check_archive(path: Path) -> None:
    """The zip archive torch.save writes, with no record that inflates out of proportion; else a one-line refusal."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # a pickle's PROTO opcode
            raise UnsafeCheckpointError(
                f"{path}: legacy format (a bare pickle, as torch < 1.6 saved): re-save with torch.save "
                "(load it once where you trust it, then save it again)"
            )
        raise UnsafeCheckpointError(f"{path}: not a torch checkpoint (neither the zip archive torch.save writes nor a "
                                    "pickle)")
    with zipfile.ZipFile(path) as archive:
        for record in archive.infolist():
            if (record.compress_type != zipfile.ZIP_STORED and record.file_size > MAX_INFLATED_BYTES
                    and record.file_size > MAX_INFLATION_RATIO * max(record.compress_size, 1)):
                raise UnsafeCheckpointError(
                    f"{path}: record {record.filename} declares {record.file_size} bytes compressed into "
                    f"{record.compress_size}; refusing to inflate it (torch.save stores records uncompressed)"
                )


def load_pickled_checkpoint(path: str | os.PathLike, mmap: bool = False) -> dict:
    """`torch.load(weights_only=True)` with only `ALLOWED_GLOBALS` admitted; raises naming any other global."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint file does not exist")
    _check_archive(path)
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
