"""`c2ser-hf predict`: the emotion (and the model's answer) for audio files, one result per file."""

from . import arguments
from .reporting import report_per_file

HELP = "emotion (and explanation) for audio files"


def add_arguments(parser) -> None:
    parser.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes; over 30 s is windowed)")
    arguments.add_model(parser, "C2SER folder or Hub id, or 'official' (the released model, converted once and cached)")
    parser.add_argument("--mode", default="implicit", help="implicit, explicit (chain of thought) or a custom prompt")
    parser.add_argument("--scores", action="store_true", help="probabilities of the 7 emotions; label = their argmax")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    parser.add_argument("--batch-size", type=arguments.positive_int, default=8, help="audio windows per batch")
    arguments.add_device(parser)
    parser.add_argument("--dtype", choices=arguments.DTYPES, default="float32",
                        help="dtype of the language model (encoders stay float32)")
    parser.add_argument("--max-new-tokens", type=arguments.positive_int,
                        help="answer length limit (default: the model's generation config, 400)")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding instead of the model's default")


def run(args) -> int:
    # the model is checked before the inference stack is imported: a bad --model fails in well under a second
    from ..model_loading import load_c2ser

    model, processor = load_c2ser(args.model, dtype=args.dtype, device=args.device, cache_dir=args.cache_dir,
                                  command="predict")
    from ..predict import predict

    generate_kwargs = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    if args.greedy:
        generate_kwargs.update(num_beams=1, do_sample=False)
    results = predict(model, processor, args.audio, mode=args.mode, scores=args.scores, batch_size=args.batch_size,
                      **generate_kwargs)

    def line(result):
        score = f" ({result['scores'][result['emotion']]:.2f})" if "scores" in result else ""
        return f"{result['emotion']}{score}  {result['text']}"

    return report_per_file(results, args.json, line)
