"""Training data: a chain-of-thought dataset (the output of `build-cot`, or any dataset with its audio and target
columns) from a folder or the Hub, held in memory or streamed for corpora larger than memory. Opened through
`dataset_io`, its audio column read undecoded: the collator decodes each row, so a broken clip is named and left out
instead of ending the run where the row is read."""

from ..dataset_io import lazy_audio, open_dataset, readable_rows, row_name
from .arguments import C2SERDataArguments


def check_targets(rows, columns, source: str) -> None:
    """Every target of rows held in memory is a non-empty string, else one line naming the row (by id) and column,
    before training starts rather than in a batch mid-run."""
    ids = rows["id"] if "id" in rows.column_names else None
    for column in (c for c in columns if c in rows.column_names):
        for index, target in enumerate(rows[column]):
            if not isinstance(target, str) or not target.strip():
                name = row_name({"id": ids[index]} if ids else {}, index)
                raise ValueError(f"dataset {source}: {name}: {column} must be a non-empty text, got {target!r:.60}")


def load_training_data(args: C2SERDataArguments, world_size: int = 1, num_workers: int = 0,
                       skipped: list | None = None):
    """(train, eval or None) splits, their audio column undecoded. Rows held in memory whose audio cannot be opened
    are left out, each named, before training starts (`dataset_io.readable_rows`; more than `max_bad_fraction` stops
    the run; the training split's are added to `skipped` when given), and their targets checked (`check_targets`).
    Streamed data is split into at least `world_size × num_workers` shards (parquet row groups), one reader each;
    fewer would stop the run with "Too many dataloader workers"."""
    if not args.dataset_name:
        raise ValueError("dataset_name: give the chain-of-thought dataset (a build-cot output folder or Hub id)")
    data = open_dataset(args.dataset_name, args.dataset_config, streaming=args.dataset_streaming)
    if args.dataset_train_split not in data:
        raise ValueError(f"dataset {args.dataset_name}: no split {args.dataset_train_split!r} "
                         f"(it has {', '.join(data)})")
    train = data[args.dataset_train_split]
    needed = (args.audio_column, args.explicit_column, args.implicit_column)
    missing = [c for c in needed if c not in (train.column_names or ())]
    if missing:
        raise ValueError(f"dataset {args.dataset_name}: no column {', '.join(missing)} (it has "
                         f"{', '.join(train.column_names or ())}); build it with `c2ser-hf build-cot`")
    evaluation = data.get(args.dataset_test_split)
    if args.dataset_streaming:
        train = lazy_audio(train, args.audio_column)[0]
        evaluation = None if evaluation is None else lazy_audio(evaluation, args.audio_column)[0]
        readers = world_size * max(num_workers, 1)
        if train.num_shards < readers:
            train = train.reshard()
        if train.num_shards < readers:
            raise ValueError(f"dataset {args.dataset_name}: {train.num_shards} shard(s) cannot feed {world_size} "
                             f"process(es) × {max(num_workers, 1)} dataloader worker(s); write it in more parquet "
                             "files or row groups, or use fewer workers")
        return train, evaluation
    source = f"{args.dataset_name}, split {args.dataset_train_split}"
    check_targets(train, needed[1:], source)
    train, bad = readable_rows(train, source, args.audio_column, args.max_bad_fraction)
    if skipped is not None:
        skipped += bad
    if evaluation is not None:
        source = f"{args.dataset_name}, split {args.dataset_test_split}"
        check_targets(evaluation, needed[1:], source)
        evaluation = readable_rows(evaluation, source, args.audio_column, args.max_bad_fraction)[0]
    return train, evaluation
