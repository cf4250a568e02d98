"""One module per `c2ser-hf` command: a docstring, `HELP`, `add_arguments(parser)` and `run(args) -> int`."""
