"""`c2ser-hf prepare-data`: a corpus as distributed → a Hub-ready dataset folder (parquet + configs + card)."""

from . import arguments

HELP = "a corpus on disk -> Hub-ready dataset (parquet + configs + card)"


def add_arguments(parser) -> None:
    parser.add_argument("corpus", nargs="?", help="corpus name (see --list)")
    parser.add_argument("--list", action="store_true", help="name the supported corpora and the layout each expects")
    parser.add_argument("--source", help="the corpus as distributed (or its EmoBox data/<dataset>/ folder)")
    parser.add_argument("--out", help="output folder (written atomically)")
    parser.add_argument("--config", action="append", help="write only this config (repeatable; default: all)")
    parser.add_argument("--num-proc", type=arguments.positive_int, default=1, help="processes decoding audio")
    parser.add_argument("--skip-bad", action="store_true", help="skip and report bad rows instead of stopping")
    parser.add_argument("--max-seconds", type=arguments.non_negative_float,
                        help="drop longer utterances (default: the paper's 20 s; none for Emo-Emilia; 0: keep all)")
    parser.add_argument("--audio-root", help="EmoBox layout: folder the `wav` paths are relative to")
    arguments.add_overwrite(parser)
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="then upload the folder to this dataset repo")
    arguments.add_hub_upload(parser)


def run(args) -> int:
    from ..datasets_scripts.corpora import layouts
    from ..prepare_data import prepare_data

    if args.list:
        print("\n".join(layouts()))
        return 0
    missing = [flag for flag, value in (("CORPUS", args.corpus), ("--source", args.source), ("--out", args.out))
               if not value]
    if missing:
        raise ValueError(f"give {', '.join(missing)} (or --list to see the corpora)")
    report = prepare_data(
        args.corpus, args.source, args.out, configs=args.config, num_proc=args.num_proc, skip_bad=args.skip_bad,
        max_seconds=args.max_seconds, audio_root=args.audio_root, overwrite=args.overwrite,
        push_to_hub=args.push_to_hub, token=args.token, private=args.private, endpoint=args.endpoint,
    )
    print("\n".join(report.summary()))
    if args.push_to_hub:
        print(f"uploaded {args.out} to the dataset repo {args.push_to_hub}")
    return 0
