"""Training data: a chain-of-thought dataset (the output of `build-cot`, or any dataset with its audio and target
columns) from a folder or the Hub, held in memory or streamed for corpora larger than memory."""

from ..cot.build import load_input
from .arguments import C2SERDataArguments


def load_training_data(args: C2SERDataArguments, world_size: int = 1, num_workers: int = 0):
    """(train, eval or None) splits. Streamed data is split into at least `world_size × num_workers` shards
    (parquet row groups), one reader each; fewer would stop the run with "Too many dataloader workers"."""
    if not args.dataset_name:
        raise ValueError("dataset_name: give the chain-of-thought dataset (a build-cot output folder or Hub id)")
    if args.dataset_streaming:
        import datasets

        data = datasets.load_dataset(args.dataset_name, args.dataset_config, streaming=True)
    else:
        data = load_input(args.dataset_name, config=args.dataset_config)
    if args.dataset_train_split not in data:
        raise ValueError(f"dataset {args.dataset_name}: no split {args.dataset_train_split!r} "
                         f"(it has {', '.join(data)})")
    train = data[args.dataset_train_split]
    needed = (args.audio_column, args.explicit_column, args.implicit_column)
    missing = [c for c in needed if c not in (train.column_names or ())]
    if missing:
        raise ValueError(f"dataset {args.dataset_name}: no column {', '.join(missing)} (it has "
                         f"{', '.join(train.column_names or ())}); build it with `c2ser-hf build-cot`")
    if args.dataset_streaming:
        readers = world_size * max(num_workers, 1)
        if train.num_shards < readers:
            train = train.reshard()
        if train.num_shards < readers:
            raise ValueError(f"dataset {args.dataset_name}: {train.num_shards} shard(s) cannot feed {world_size} "
                             f"process(es) × {max(num_workers, 1)} dataloader worker(s); write it in more parquet "
                             "files or row groups, or use fewer workers")
    return train, data.get(args.dataset_test_split)
