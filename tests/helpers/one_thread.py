"""Runs compared bit for bit against torchrun ranks run on one thread, as each rank does (OMP_NUM_THREADS=1)."""

import contextlib

import torch


@contextlib.contextmanager
def one_thread():
    """One torch thread inside the block: float sums then run in the same order as a rank's, whatever thread count
    the suite runs with."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
