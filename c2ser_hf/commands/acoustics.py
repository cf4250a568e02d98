"""`c2ser-hf acoustics`: pitch, loudness and speaking rate of audio files, as chain-of-thought data uses them."""

from pathlib import Path

from . import arguments
from .reporting import report_per_file

HELP = "pitch, loudness and speaking rate of audio files"


def add_arguments(parser) -> None:
    parser.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes)")
    transcripts = parser.add_mutually_exclusive_group()
    transcripts.add_argument("--text", help="the transcript (of every file); needed for the speaking rate")
    transcripts.add_argument("--texts", help="a file with one transcript per line, in the order of the audio files")
    parser.add_argument("--language", choices=("en", "zh"), help="transcript language (default: detected)")
    arguments.add_pitch(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per file")


def run(args) -> int:
    from ..cot.acoustics import AcousticMeter, measure_files

    texts = None
    if args.texts:
        texts = Path(args.texts).read_text(encoding="utf-8").splitlines()
        if len(texts) != len(args.audio):
            raise ValueError(f"{args.texts}: {len(texts)} lines for {len(args.audio)} audio files (one per file)")
    elif args.text is not None:
        texts = [args.text] * len(args.audio)
    results = measure_files(args.audio, texts, [args.language] * len(args.audio),
                            meter=AcousticMeter(args.pitch_estimator, **arguments.pitch_options(args)))

    def line(result):
        values = "  ".join(f"{k} {result[k]:.2f}" if result[k] is not None else f"{k} -"
                           for k in ("pitch_hz", "loudness_lufs", "speaking_rate", "speech_duration_s"))
        notes = "; ".join(f"{k}: {v}" for k, v in result["reasons"].items())
        return values + (f"  ({notes})" if notes else "")

    return report_per_file(results, args.json, line)
