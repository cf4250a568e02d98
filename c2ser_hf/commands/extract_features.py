"""`c2ser-hf extract-features`: Emotion2Vec-S features, one .npy per audio file."""

import sys

from . import arguments

HELP = "Emotion2Vec-S features, one .npy per audio file"
# the values of the model config's `utterance_source` (modeling/configuration_emotion2vec_s.py; tests keep them equal)
UTTERANCE_SOURCES = ("extra_tokens", "mean", "first_frames")


def add_arguments(parser) -> None:
    parser.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes)")
    arguments.add_model(parser, "Emotion2Vec-S / emotion2vec folder or Hub id (see `convert emotion2vec`)")
    parser.add_argument("--level", choices=("frame", "utterance"), default="frame",
                        help="frame features (T, D) or one utterance vector per file")
    parser.add_argument("--utterance-source", choices=UTTERANCE_SOURCES,
                        help="which vectors make the utterance features (default: the model's config)")
    parser.add_argument("--out", required=True, help="output folder (one .npy per input)")
    parser.add_argument("--batch-size", type=arguments.positive_int, default=8, help="files per batch")
    arguments.add_device(parser)


def run(args) -> int:
    # the model is checked before the inference stack is imported: a bad --model fails in well under a second
    from ..model_loading import load_emotion2vec_s

    model, feature_extractor = load_emotion2vec_s(args.model, device=args.device, cache_dir=args.cache_dir,
                                                  command="extract-features")
    import torch

    from ..extract_features import extract_features_to_files

    with torch.inference_mode():
        report = extract_features_to_files(
            model, feature_extractor, args.audio, args.out, level=args.level, utterance_source=args.utterance_source,
            max_batch_size=args.batch_size,
        )
    for reason in report.failed.values():
        print(f"failed: {reason}", file=sys.stderr)
    print(f"wrote {len(report.written)} file(s) to {args.out}; {len(report.failed)} failed")
    return 1 if report.failed else 0
