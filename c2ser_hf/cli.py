"""`c2ser-hf`: C2SER speech emotion recognition from the command line. Each command is one library call; parsing
imports nothing heavy, so `--help` is instant."""

import argparse
import importlib
import os
import sys

from .commands import COMMANDS

# what a command raises for bad input; the CLI prints its one line and exits 2
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError, RuntimeError)


TRAINING_COMMANDS = ("train", "pretrain-emotion2vec")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (naming the option and the value), exit status 2, as for every other bad input."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="c2ser-hf", description=__doc__, formatter_class=_HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        command = commands.add_parser(name, help=module.HELP, description=module.__doc__,
                                      formatter_class=_HelpFormatter)
        module.add_arguments(command)
        # a command whose fields another parser reads (`train`: TRL's) takes options it does not declare
        command.set_defaults(run=module.run, takes_more=getattr(module, "TAKES_UNDECLARED_OPTIONS", False))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, undeclared = parser.parse_known_args(argv)
    if undeclared and not args.takes_more:
        parser.error(f"unrecognized arguments: {' '.join(undeclared)}")
    args.undeclared = undeclared
    if args.command not in TRAINING_COMMANDS:
        # transformers imports DeepSpeed when it is installed, and DeepSpeed then prints an accelerator warning on
        # stdout on machines without a GPU; commands that do not train never use it, so name its accelerator
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        return args.run(args)
    except USER_ERRORS as error:
        message = " ".join((getattr(error, "cli_message", None) or str(error)).split()) or type(error).__name__
        print(f"c2ser-hf {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"c2ser-hf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
