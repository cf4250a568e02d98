"""`c2ser-hf` commands: one module each (`HELP`, `add_arguments(parser)`, `run(args) -> int`)."""
