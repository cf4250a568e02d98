"""`c2ser-hf new`: a randomly initialised model folder (C2SER with its processor, or Emotion2Vec-S with its feature
extractor) for tests, demos and benchmarks; it loads like a released one."""

from . import arguments

HELP = "a randomly initialised C2SER or Emotion2Vec-S model folder (tests, demos)"
SIZES = ("tiny", "small", "full")  # c2ser_hf.model_sizes.SIZES (kept light for --help; tests keep them equal)


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="output folder (written atomically)")
    parser.add_argument("--architecture", choices=("c2ser", "emotion2vec-s"), default="c2ser",
                        help="which model: C2SER (+ processor) or Emotion2Vec-S (+ feature extractor)")
    parser.add_argument("--size", choices=SIZES, default="tiny",
                        help="tiny (tests), small (benchmarks) or full (the released model's shapes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--tokenizer", help="C2SER: Qwen2 tokenizer folder or Hub id (needed for --size full; "
                        "tiny and small train a small tokenizer offline)")
    arguments.add_overwrite(parser)


def run(args) -> int:
    from ..model_loading import resolve_model

    if args.tokenizer:
        resolve_model(args.tokenizer, None, required_file="tokenizer_config.json")
    from ..new_model import write_random_c2ser, write_random_emotion2vec_s

    if args.architecture == "emotion2vec-s":
        if args.tokenizer:
            raise ValueError("--tokenizer is for C2SER models; Emotion2Vec-S has none")
        write_random_emotion2vec_s(args.out, size=args.size, seed=args.seed, overwrite=args.overwrite)
        print(f"wrote a randomly initialised {args.size} Emotion2Vec-S model and feature extractor to {args.out}")
        return 0
    write_random_c2ser(args.out, size=args.size, seed=args.seed, tokenizer=args.tokenizer, overwrite=args.overwrite)
    print(f"wrote a randomly initialised {args.size} C2SER model and processor to {args.out}")
    return 0
