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


def batch_size(text: str):
    """A positive integer, or "auto" (sized by the device's free memory: `c2ser_hf/batch_sizes.py`)."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a positive integer nor 'auto'") from None


def add_batch_size(parser, what: str) -> None:
    parser.add_argument("--batch-size", type=batch_size, default=8,
                        help=f"{what} per batch, or 'auto': 8 on a CPU, on a GPU as many as its free memory holds")


def add_answer_language(parser, dataset: bool = False) -> None:
    parser.add_argument("--answer-language", choices=("en", "zh", "dataset") if dataset else ("en", "zh"),
                        help="weigh only this language's answers in the emotion scores (the model answers in the "
                             "audio's language): about half the cost of both" + (
                                 "; 'dataset': each clip's language column" if dataset else ""))


def add_speed_options(parser) -> None:
    """Options of C2SER's speed at scale (`load_c2ser`): encoder arithmetic, torch.compile, a quantized LLM."""
    group = parser.add_argument_group("speed (GPU)")
    group.add_argument("--encoder-precision", choices=("fp32", "tf32", "bf16"), default="fp32",
                       help="arithmetic of the speech encoders: fp32 as released, tf32 (CUDA) or bf16 autocast, "
                            "faster at an accuracy cost (docs/fidelity.md#precision)")
    group.add_argument("--compile", action="store_true", help="torch.compile the speech encoders and the link")
    group.add_argument("--quantize", choices=("4bit", "8bit"),
                       help="load the language model quantized with bitsandbytes (CUDA GPU only)")


def speed_options(args) -> dict:
    return {"encoder_precision": args.encoder_precision, "compile_encoders": args.compile,
            "quantization": args.quantize}


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
