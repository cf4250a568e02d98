"""The processes of a data-parallel evaluation (torchrun / accelerate launch set RANK, WORLD_SIZE, LOCAL_RANK)."""

import os
from datetime import timedelta


class Ranks:
    """This process's place among the processes torchrun / accelerate launch started (one when run directly)."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self._owned = False
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                # gloo on any device: only barriers cross processes, the predictions travel through files
                dist.init_process_group("gloo", timeout=timedelta(hours=12))
                self._owned = True

    def device(self, device: str) -> str:
        return f"cuda:{self.local_rank}" if self.world > 1 and device == "cuda" else device

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

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
