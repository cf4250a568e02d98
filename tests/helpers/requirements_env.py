"""A Python environment that holds only what a requirements.txt installs, without a download: local project lines
(`./dir[extras]`) are pip-installed into a folder, and every installed distribution in the closure of their
requirements is linked in beside them. Run Python with `-S` and PYTHONPATH set to that folder, and an import of
anything else fails as it would on a machine where only the requirements were installed."""

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _local_lines(requirements: Path) -> list[tuple[Path, set[str]]]:
    local = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-c "):
            continue
        if not line.startswith("./"):
            raise ValueError(f"{requirements}: only local project lines and -c are handled here, not {line!r}")
        path, _, extras = line.partition("[")
        local.append((requirements.parent / path, {e.strip() for e in extras.rstrip("]").split(",") if e.strip()}))
    return local


def _closure(roots: list[tuple[metadata.Distribution, set[str]]], local: dict) -> dict[str, metadata.Distribution]:
    """Every distribution the roots require (with their extras, markers evaluated here), by canonical name."""
    wanted: dict[str, set[str]] = {}
    found: dict[str, metadata.Distribution] = {}
    stack = [(dist, extras) for dist, extras in roots]
    while stack:
        dist, extras = stack.pop()
        name = canonicalize_name(dist.metadata["Name"])
        if name in wanted and extras <= wanted[name]:
            continue
        wanted[name] = wanted.get(name, set()) | extras
        found[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in {"", *extras}):
                continue
            key = canonicalize_name(requirement.name)
            stack.append((local.get(key) or metadata.distribution(requirement.name), set(requirement.extras)))
    return found


def requirements_only_pythonpath(requirements: Path, target: Path) -> Path:
    """Build the environment of `requirements` in `target` (returned, for PYTHONPATH with `python -S`)."""
    target.mkdir(parents=True, exist_ok=True)
    local, roots = {}, []
    for path, extras in _local_lines(requirements):
        before = set(target.glob("*.dist-info"))
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                        "--no-build-isolation", "--target", str(target), str(path)], check=True, capture_output=True)
        (info,) = set(target.glob("*.dist-info")) - before
        dist = metadata.PathDistribution(info)
        local[canonicalize_name(dist.metadata["Name"])] = dist
        roots.append((dist, extras))
    for name, dist in _closure(roots, local).items():
        if name in local:
            continue
        site = Path(dist.locate_file(""))
        for top in {Path(f).parts[0] for f in dist.files or []}:
            if top.startswith("..") or top == "__pycache__" or not (site / top).exists():
                continue
            link = target / top
            if not link.exists():
                link.symlink_to(site / top)
    return target.resolve()


def python_command(pythonpath: Path, **environment) -> tuple[list[str], dict]:
    """(argv prefix, environment) of a Python that sees only `pythonpath` and the standard library."""
    return [sys.executable, "-S"], {**os.environ, **environment, "PYTHONPATH": str(pythonpath)}
