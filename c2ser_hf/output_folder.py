"""Output folders that appear whole or not at all, and are replaced only when nothing but our own output is lost.

Every folder this package writes (`new`, `convert`, `prepare-data`, `build-cot`) carries `MARKER`, a JSON file
listing the files written. `--overwrite` replaces a folder only when it is empty, or holds that marker and no file
the marker does not list; folders written before the marker existed are refused (delete them yourself), since a
layout that merely looks like ours is no proof that nothing else is in it. The output may also never be the current
folder, a folder above it, or overlap an input. All of this is checked before any work starts and again just before
the old folder is replaced.

Work happens in `.<name>.<pid>.partial` beside the output. The finished folder takes the output's place by renames
(the old one first moves to `.<name>.<pid>.replaced`), so a crash leaves either the old or the new output. A staging
or replaced folder whose process no longer runs (SIGKILL, power loss) is removed by the next write of that output.
"""

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from .option_error import output_exists

MARKER = ".c2ser-hf-output.json"


class UnsafeOutputError(ValueError):
    """The output folder cannot be written or replaced without risking data that is not ours."""


def _overlaps(out: Path, source: Path) -> bool:
    return out == source or source in out.parents or out in source.parents


def _written_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink() or not p.is_dir()}


def _check_ours(out: Path) -> None:
    if not any(out.iterdir()):
        return
    try:
        listed = set(json.loads((out / MARKER).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UnsafeOutputError(
            f"{out}: not replacing a folder that c2ser-hf did not write (it has no readable {MARKER}); "
            "delete it yourself or choose another output folder"
        ) from None
    foreign = sorted(_written_files(out) - listed - {MARKER})
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UnsafeOutputError(f"{out}: not replacing it: it holds files c2ser-hf did not write ({shown})")


def check_apart_from_inputs(out_dir, inputs=()) -> None:
    """Refuse an output folder that is one of `inputs`, lies inside one or holds one (paths that do not exist, e.g.
    Hub ids, are ignored): writing there would change an input, or replacing it would delete one."""
    out = Path(out_dir).resolve()
    for source in inputs:
        if source is not None and Path(source).exists() and _overlaps(out, Path(source).resolve()):
            raise UnsafeOutputError(
                f"{out_dir}: overlaps the input {source} (the same folder, inside it or around it); "
                "write the output elsewhere"
            )


def check_output_dir(out_dir, overwrite: bool = False, inputs=()) -> Path:
    """Refuse an output folder that is a file or link, the current folder or one above it, overlaps one of `inputs`
    (paths that do not exist, e.g. Hub ids, are ignored), or exists while `overwrite` is False or holds anything
    that is not our own earlier output. Returns the absolute path."""
    given = Path(out_dir)
    if given.is_symlink():
        raise UnsafeOutputError(f"{given}: is a symbolic link; give a real folder path for the output")
    out = given.resolve()
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise UnsafeOutputError(f"{given}: is the current folder or one above it; the output needs a folder of its own")
    check_apart_from_inputs(given, inputs)
    if given.exists():
        if not given.is_dir():
            raise UnsafeOutputError(f"{given}: exists and is not a folder; not replacing it")
        if not overwrite:
            raise output_exists(given)
        _check_ours(given)
    return out


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(out: Path) -> None:
    """Staging and replaced folders of `out` left by processes that no longer run."""
    pattern = re.compile(re.escape(f".{out.name}.") + r"(\d+)\.(partial|replaced)")
    for path in out.parent.iterdir():
        found = pattern.fullmatch(path.name)
        if found and path.is_dir() and not path.is_symlink() and (path / MARKER).is_file():
            pid = int(found.group(1))
            if pid == os.getpid() or not _process_runs(pid):
                shutil.rmtree(path)


def _write_marker(folder: Path) -> None:
    files = sorted(_written_files(folder) - {MARKER})
    (folder / MARKER).write_text(json.dumps({"written_by": "c2ser-hf", "files": files}, indent=1) + "\n",
                                 encoding="utf-8")


@contextlib.contextmanager
def atomic_output_dir(out_dir, overwrite: bool = False, inputs=()):
    """Yield an empty staging folder beside `out_dir`; when the block completes it becomes `out_dir` (replacing our
    earlier output there under `overwrite`), else it is removed. See `check_output_dir` for what is refused."""
    out = check_output_dir(out_dir, overwrite, inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    staging = out.with_name(f".{out.name}.{os.getpid()}.partial")
    replaced = out.with_name(f".{out.name}.{os.getpid()}.replaced")
    staging.mkdir()
    _write_marker(staging)  # marks the staging folder as ours for the leftover cleanup
    try:
        yield staging
        _write_marker(staging)
        check_output_dir(out_dir, overwrite, inputs)  # the folder may have changed during the work
        if out.exists():
            out.rename(replaced)
        staging.rename(out)
        if replaced.exists():
            shutil.rmtree(replaced)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
