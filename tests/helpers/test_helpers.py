"""Helpers shared by the model tests: non-trivial random weights, and running code where c2ser_hf is absent."""

import os
import subprocess
import sys
import textwrap

import torch

# Prepended to a script: any import of c2ser_hf fails, as on a machine where only transformers is installed.
_BLOCK_PACKAGE = textwrap.dedent(
    """
    import sys, importlib.abc

    class BlockPackage(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "c2ser_hf":
                raise ImportError("c2ser_hf is deliberately unavailable")

    sys.meta_path.insert(0, BlockPackage())
    """
)
_CHECK_ABSENT = '\nassert not any(m.split(".")[0] == "c2ser_hf" for m in sys.modules), "c2ser_hf was imported"\n'


def randomized(model):
    """Random norms, tokens and ALiBi scales, so that no part of the network is trivially neutral; eval mode."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1 or "extra_tokens" in name or "alibi_scale" in name:
                param.add_(0.2 * torch.randn(param.shape, generator=generator))
    return model.eval()


def run_without_package(script: str, args: list, cwd) -> subprocess.CompletedProcess:
    """Run `script` (using sys.argv[1:] = args) in a fresh interpreter where c2ser_hf cannot be imported, offline,
    with its own remote-code module cache; afterwards it asserts that c2ser_hf was never imported."""
    path = cwd / "remote_script.py"
    path.write_text(_BLOCK_PACKAGE + textwrap.dedent(script) + _CHECK_ABSENT)
    env = {"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(cwd / "modules"), "PATH": "/usr/bin:/bin"}
    # the same thread count as this process, so that float reductions (and results) are bit-identical
    env.update({k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ})
    return subprocess.run(
        [sys.executable, "-P", str(path), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )
