"""One module per `c2ser-hf` command: `HELP`, `add_arguments(parser)` and `run(args) -> int`."""
