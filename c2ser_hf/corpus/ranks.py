"""The processes of a data-parallel run over a corpus (torchrun / accelerate launch set RANK, WORLD_SIZE and
LOCAL_RANK)."""

import os
from datetime import timedelta

# How long the processes wait for each other to start (torch's default is far longer); the environment variable sets
# another.
RENDEZVOUS_MINUTES = 10.0
RENDEZVOUS_VARIABLE = "C2SER_HF_RENDEZVOUS_MINUTES"


def _whole(name: str, default: str, least: int) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < least:
        raise ValueError(f"{name}={value!r}: must be a whole number of at least {least} (set by torchrun / accelerate "
                         "launch; unset it to run one process)")
    return number


def distributed_environment() -> tuple[int, int, int]:
    """(WORLD_SIZE, RANK, LOCAL_RANK) from the environment, checked: one line naming the variable when wrong."""
    world = _whole("WORLD_SIZE", "1", 1)
    rank = _whole("RANK", "0", 0)
    local_rank = _whole("LOCAL_RANK", "0", 0)
    if rank >= world:
        raise ValueError(f"RANK={rank}: must be below WORLD_SIZE={world}")
    return world, rank, local_rank


def rendezvous_timeout() -> timedelta:
    value = os.environ.get(RENDEZVOUS_VARIABLE, str(RENDEZVOUS_MINUTES))
    try:
        minutes = float(value)
    except ValueError:
        minutes = -1.0
    if not minutes > 0:
        raise ValueError(f"{RENDEZVOUS_VARIABLE}={value!r}: must be a positive number of minutes")
    return timedelta(minutes=minutes)


def local_device(device: str) -> str:
    """This process's own GPU for "cuda" when torchrun / accelerate launch started several (one per process)."""
    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if several and device == "cuda" else device


class Ranks:
    """This process's place among the processes torchrun / accelerate launch started (one when run directly)."""

    def __init__(self):
        self.world, self.rank, self.local_rank = distributed_environment()
        self._owned = False
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                timeout = rendezvous_timeout()
                try:
                    # gloo on any device: only barriers cross processes, the predictions travel through files
                    dist.init_process_group("gloo", timeout=timeout)
                except RuntimeError as error:
                    raise RuntimeError(self._missing(timeout, error)) from None
                self._owned = True

    def _missing(self, timeout: timedelta, error: Exception) -> str:
        waited = f"{timeout.total_seconds() / 60:g} min"
        others = "rank 0" if self.rank else f"ranks 1-{self.world - 1}" if self.world > 2 else "rank 1"
        return (f"rank {self.rank} of WORLD_SIZE={self.world}: {others} did not join within {waited} "
                f"({' '.join(str(error).split())[:120]}); start every process, or set {RENDEZVOUS_VARIABLE}")

    def device(self, device: str) -> str:
        return local_device(device)

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def smallest(self, value: int) -> int:
        """The smallest of every rank's `value` (e.g. a batch size each rank chose from its own free memory), so that
        all ranks plan the same batches."""
        if self.world == 1:
            return value
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([value])
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
        return int(tensor.item())

    def rank0_first(self, work):
        """`work()` on rank 0, then on the others (rank 0 fills shared caches, such as the datasets cache)."""
        if self.rank == 0:
            result = work()
            self.barrier()
            return result
        self.barrier()
        return work()

    def close(self) -> None:
        if self._owned:
            import torch.distributed as dist

            dist.destroy_process_group()
