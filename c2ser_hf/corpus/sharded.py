"""One resumable, data-parallel pass over a corpus into a folder's `predictions.jsonl`.

Rank 0 starts the folder (or checks that its `run.json` describes this same run, and cuts a torn last line). Every
rank then runs its share of the batches, skipping clips already in the folder, and appends each batch's records to
its own file (`predictions.jsonl` for one process, `predictions.jsonl.rank<N>` for several); at the end rank 0 merges
those files into `predictions.jsonl`. A killed run therefore resumes where it stopped, whatever the process count of
either run, and no clip is ever written twice.
"""

import json
import re
import sys
from pathlib import Path

from ..atomic_files import write_json
from ..option_error import option_error
from .predictions_file import append_predictions, read_predictions

PREDICTIONS, RUN_FILE = "predictions.jsonl", "run.json"


def start(folder: Path, run: dict, overwrite: bool, ranks, outputs: tuple[str, ...] = ()) -> set[str]:
    """Prepare `folder` on rank 0 (see the module docstring; `overwrite` deletes only what a run writes there: its
    run.json, predictions and the further `outputs` files); every rank returns the ids of the clips already done."""
    if ranks.rank == 0:
        _prepare_folder(folder, run, overwrite, outputs)
    ranks.barrier()
    done = {record["id"] for record in all_records(folder)}
    ranks.barrier()  # every rank knows what is done before any rank appends
    return done


def my_batches(plan: list[list[int]], ids: list[str], done: set[str], ranks) -> list[list[int]]:
    """This rank's batches of a plan every rank computes alike (batch k goes to rank k mod world) that still hold a
    clip to do."""
    return [batch for k, batch in enumerate(plan)
            if k % ranks.world == ranks.rank and any(ids[i] not in done for i in batch)]


def run_share(folder: Path, batches, work, done: set[str], ranks, *, total: int | None, desc: str, progress: bool,
              name: str) -> None:
    """For each batch, append the records `work(batch)` returns (each with an "id"; "error" for a clip that failed,
    also printed as `name: error`) that are not done yet to this rank's file. A batch cut short by a kill runs whole
    again (same batch, same numbers); only its new clips are kept."""
    from tqdm.auto import tqdm

    target = folder / (PREDICTIONS if ranks.world == 1 else f"{PREDICTIONS}.rank{ranks.rank}")
    with tqdm(total=total, unit="clip", desc=desc, disable=not progress or ranks.rank != 0) as bar:
        for batch in batches:
            records = [record for record in work(batch) if record["id"] not in done]
            for record in records:
                if "error" in record:
                    bar.write(f"{name}: {record['error']}", file=sys.stderr)
            append_predictions(target, records)
            bar.update(len(records))


def finish(folder: Path, ranks) -> list[dict] | None:
    """After every rank's share: on rank 0, merge the rank files and return all records; None on the others."""
    ranks.barrier()
    return merge_shards(folder) if ranks.rank == 0 else None


def all_records(folder: Path) -> list[dict]:
    return [record for file in _prediction_files(folder) for record in read_predictions(file)]


def written_files(world: int, outputs: tuple[str, ...] = ()) -> list[str]:
    """The names a run over `world` processes may write in its folder (for the folder's marker)."""
    ranks = [f"{PREDICTIONS}.rank{rank}" for rank in range(world)] if world > 1 else []
    return [RUN_FILE, PREDICTIONS, *ranks, *outputs]


def merge_shards(folder: Path) -> list[dict]:
    """Append the records of the per-rank files that predictions.jsonl lacks, then delete those files (a rerun after
    a kill in between finds the records in both and keeps one). Each id counts once, the first record of it kept,
    also in a file that two runs wrote at once before folders were locked."""
    main = folder / PREDICTIONS
    records, have = [], set()
    for record in read_predictions(main):
        if record["id"] not in have:
            records.append(record)
            have.add(record["id"])
    for shard in _prediction_files(folder)[1:]:
        new = [record for record in read_predictions(shard) if record["id"] not in have]
        append_predictions(main, new)
        records += new
        have.update(record["id"] for record in new)
        shard.unlink()
    return records


def _prepare_folder(folder: Path, run: dict, overwrite: bool, outputs: tuple[str, ...]) -> None:
    run = json.loads(json.dumps(run))
    if overwrite:  # only what an earlier run wrote here: a folder may hold files of the user's too
        for file in [folder / RUN_FILE, *(folder / name for name in outputs), *_prediction_files(folder)]:
            file.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUN_FILE
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        differs = sorted(key for key in set(run) | set(before) if run.get(key) != before.get(key))
        if differs:
            raise option_error(ValueError, f"{folder}: holds predictions of another run (it differs in "
                               f"{', '.join(differs)}); use another output folder, or {{option}} to discard them",
                               "overwrite=True", "--overwrite")
    else:
        write_json(path, run)
    for file in _prediction_files(folder):
        read_predictions(file, repair=True)


def _prediction_files(folder: Path) -> list[Path]:
    """predictions.jsonl and the rank files `predictions.jsonl.rank<N>`, and no other file that merely starts so."""
    rank_file = re.compile(re.escape(PREDICTIONS) + r"\.rank\d+")
    return [folder / PREDICTIONS] + sorted(p for p in folder.glob(f"{PREDICTIONS}.rank*")
                                           if rank_file.fullmatch(p.name))
