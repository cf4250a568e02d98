"""Option types and options that several commands share."""

import argparse

DTYPES = ("float32", "bfloat16", "float16")


def _number(kind, minimum, inclusive: bool, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    parse.__name__ = what
    return parse


positive_int = _number(int, 1, True, "a positive integer")
non_negative_int = _number(int, 0, True, "a non-negative integer")
positive_float = _number(float, 0.0, False, "a positive number")
non_negative_float = _number(float, 0.0, True, "a non-negative number")


def add_model(parser, help_text: str) -> None:
    parser.add_argument("--model", required=True, help=help_text)
    parser.add_argument("--cache-dir", help="Hugging Face cache folder (default: the standard one)")


def add_device(parser, default: str | None = "cpu") -> None:
    parser.add_argument("--device", default=default, help="torch device, e.g. cpu, cuda, cuda:1")


def add_overwrite(parser) -> None:
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder that this "
                        "package wrote")


def add_hub_upload(parser) -> None:
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    parser.add_argument("--token", help="Hub token (default: the logged-in one)")
    parser.add_argument("--endpoint", help="Hub endpoint (default: huggingface.co or HF_ENDPOINT)")


def add_pitch(parser) -> None:
    # the estimator names are data of c2ser_hf.cot.pitch, which imports the audio stack; keep this list in step
    # (tests/test_cli.py checks)
    parser.add_argument("--pitch-estimator", choices=("penn", "praat", "pyin"), default="praat",
                        help="F0 tracker for the mean pitch")
    parser.add_argument("--penn-checkpoint", help="PENN weights file (with --pitch-estimator penn)")


def pitch_options(args) -> dict:
    return {"checkpoint": args.penn_checkpoint} if args.pitch_estimator == "penn" else {}
