"""The `c2ser-hf` commands: one module each, with `HELP`, `add_arguments(parser)` and `run(args) -> int`.

A command module imports nothing heavy at module level (argument parsing and `--help` must stay instant); its `run`
calls one library function, so everything a command does is also one Python call."""

# command name → module, in the order `c2ser-hf --help` lists them
COMMANDS = {
    "predict": "predict",
    "evaluate": "evaluate",
    "extract-features": "extract_features",
    "acoustics": "acoustics",
    "build-cot": "build_cot",
    "prepare-data": "prepare_data",
    "convert": "convert",
    "new": "new",
    "push": "push",
    "push-space": "push_space",
    "train": "train",
    "pretrain-emotion2vec": "pretrain_emotion2vec",
    "probe": "probe",
}
