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

Results folders (`evaluate`, `probe`, `predict --dataset`; for training runs too) are written in place and resumed,
so they follow these rules instead, one function each:
- `hold_lock`: one writer at a time, by an OS lock (`fcntl.flock`) on `LOCK` in the folder, which the kernel drops
  when its process ends, SIGKILL included: no lock is ever stale. A second run is refused naming the holder's pid.
- `open_results_folder`: the folder is ours (its `MARKER` lists every file a run may write there, and the run it
  holds); a rerun of the same run resumes, another run is refused unless `overwrite`, which deletes only the listed
  files; a file at a name the run would write that the marker does not list is never replaced, `overwrite` or not.
- `check_apart_from_inputs`: never inside, around or equal to an input (model or dataset folder).
- `safe_name`: a config, split or model name used in a path is a plain name, never `..` or a path.
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

from .atomic_files import write_atomic
from .option_error import option_error, output_exists

MARKER = ".c2ser-hf-output.json"
LOCK = ".c2ser-hf.lock"


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


def _own_place(given: Path, inputs) -> Path:
    """The absolute path of an output folder that is a place of its own: not a link, not the current folder or one
    above it, apart from every input."""
    if given.is_symlink():
        raise UnsafeOutputError(f"{given}: is a symbolic link; give a real folder path for the output")
    out = given.resolve()
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise UnsafeOutputError(f"{given}: is the current folder or one above it; the output needs a folder of its own")
    check_apart_from_inputs(given, inputs)
    return out


def check_output_dir(out_dir, overwrite: bool = False, inputs=()) -> Path:
    """Refuse an output folder that is a file or link, the current folder or one above it, overlaps one of `inputs`
    (paths that do not exist, e.g. Hub ids, are ignored), or exists while `overwrite` is False or holds anything
    that is not our own earlier output. Returns the absolute path."""
    given = Path(out_dir)
    out = _own_place(given, inputs)
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


class FolderBusyError(UnsafeOutputError):
    """Another live process holds the folder's run lock."""


@contextlib.contextmanager
def hold_lock(folder):
    """Hold the exclusive run lock of `folder` (created if missing) for the block; refuse at once, naming the holder,
    when another process holds it. The kernel releases it when the process dies, so a killed run leaves none."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            raise FolderBusyError(f"{folder}: another run is writing it ({holder}); wait for it to end or use "
                                  "another output folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}\n".encode(), 0)
        yield folder
    finally:
        os.close(fd)  # drops the lock


def safe_name(value, what: str) -> str:
    """`value` when it can name a folder or file (letters, digits, `_`, `-`, `.`, `+`, `=`; not `.` or `..`)."""
    text = str(value)
    if not re.fullmatch(r"[\w.+=-]+", text) or set(text) == {"."}:
        raise UnsafeOutputError(f"{what} {text!r}: not a plain name (it is used in output paths); use letters, digits, "
                                "'_', '-' or '.'")
    return text


def _read_marker(folder: Path):
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return marker if isinstance(marker, dict) and isinstance(marker.get("files"), list) else None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def results_folder(out_dir, run: dict, files, overwrite: bool = False, inputs=()):
    """Hold `out_dir` (see `hold_lock`) ready for `run`, a JSON-able description of what it writes there, writing
    `files` (paths relative to it); yields the absolute path. Refused: a file, a link, the current folder or one
    above it, a folder overlapping one of `inputs`, a non-empty folder without our marker, a name of `files` taken by
    a file the marker does not list, and a folder of another run unless `overwrite` (which deletes the marker's
    files, and only those). The marker then lists the earlier files and `files`."""
    given, out = Path(out_dir), check_results_folder(out_dir, inputs)
    with hold_lock(out):
        _prepare_results(out, given, run, {Path(f).as_posix() for f in files}, overwrite)
        yield out


def check_results_folder(out_dir, inputs=()) -> Path:
    """What `results_folder` refuses before it locks anything, for a check before any work; returns the absolute
    path."""
    given = Path(out_dir)
    out = _own_place(given, inputs)
    if given.exists() and not given.is_dir():
        raise UnsafeOutputError(f"{given}: exists and is not a folder; not writing into it")
    _check_results_folder(out, given)  # before the lock file goes in, and again under the lock
    if (out / LOCK).is_file():
        with hold_lock(out):  # refused at once while another run holds it
            pass
    return out


def _check_results_folder(out: Path, given: Path) -> tuple[dict | None, set[str]]:
    """The folder's marker and files; refused when it holds files but no marker."""
    if not out.is_dir():
        return None, set()
    marker, present = _read_marker(out), _written_files(out) - {LOCK}
    if present and marker is None:
        raise UnsafeOutputError(f"{given}: holds files c2ser-hf did not write (it has no readable {MARKER}); give "
                                "an empty or new output folder")
    return marker, present


def _prepare_results(out: Path, given: Path, run: dict, files: set[str], overwrite: bool) -> None:
    marker, present = _check_results_folder(out, given)
    listed = set(marker["files"]) if marker else set()
    run = json.loads(json.dumps(run))
    if marker and marker.get("run") != run and not overwrite:
        before = marker.get("run") if isinstance(marker.get("run"), dict) else {}
        differs = sorted(key for key in set(run) | set(before) if run.get(key) != before.get(key))
        raise option_error(FileExistsError, f"{given}: holds results of another run (it differs in "
                           f"{', '.join(differs)}); use another output folder, or {{option}} to discard them",
                           "overwrite=True", "--overwrite")
    foreign = sorted(f for f in files if f in present and f not in listed)
    if foreign:
        raise UnsafeOutputError(f"{given}: not replacing {', '.join(foreign[:3])}: c2ser-hf did not write it (its "
                                f"{MARKER} does not list it); move it away or use another output folder")
    if overwrite:
        for name in sorted(listed - {LOCK, MARKER}):
            (out / name).unlink(missing_ok=True)
        listed = set()
    write_atomic(out / MARKER, json.dumps({"written_by": "c2ser-hf", "run": run, "files": sorted(listed | files)},
                                          indent=1) + "\n")


def listed_files(folder) -> list[str]:
    """The files the marker of results folder `folder` lists ([] without a readable marker)."""
    marker = _read_marker(Path(folder))
    return list(marker["files"]) if marker else []


def record_written(folder, paths) -> None:
    """Add to the marker of results folder `folder`, held by this process, every file now at or under `paths`
    (relative to it), so that an overwrite deletes them too: for runs whose files are named only as they are written
    (a trainer's `checkpoint-N` folders)."""
    folder = Path(folder)
    marker = _read_marker(folder)
    if marker is None:
        raise UnsafeOutputError(f"{folder}: has no readable {MARKER}; it is not a results folder of this run")
    found = set()
    for path in paths:
        target = folder / path
        found |= {f"{Path(path).as_posix()}/{name}" for name in _written_files(target)} if target.is_dir() \
            else {Path(path).as_posix()} if target.exists() else set()
    write_atomic(folder / MARKER, json.dumps({**marker, "files": sorted(set(marker["files"]) | found)}, indent=1)
                 + "\n")
