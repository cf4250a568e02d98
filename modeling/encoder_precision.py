"""The arithmetic the speech encoders, link and projection run in (docs/fidelity.md#precision).

"fp32" (the default) is the released model's: PyTorch's defaults, under which CUDA convolutions may already use
TensorFloat-32 and matrix products do not. "tf32" lets CUDA matrix products round their inputs to TensorFloat-32
(10-bit mantissa) too, while storing fp32: a no-op off CUDA, where there is no such mode. "bf16" runs them
under bfloat16 autocast on any device (normalisations and softmax stay fp32, as autocast keeps them). The weights stay
fp32 either way; what changes is speed, and the accuracy cost the docs report.
"""

from contextlib import contextmanager

import torch

ENCODER_PRECISIONS = ("fp32", "tf32", "bf16")


@contextmanager
def encoder_precision(precision: str, device: torch.device):
    """Run the block inside at `precision` on `device`; global TF32 flags are restored afterwards."""
    if precision not in ENCODER_PRECISIONS:
        raise ValueError(f"encoder precision must be one of {ENCODER_PRECISIONS}, got {precision!r}")
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    elif precision == "tf32" and device.type == "cuda":
        matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
    else:
        yield


__all__ = ["ENCODER_PRECISIONS", "encoder_precision"]
