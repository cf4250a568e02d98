"""EmoBox-style probe of frozen speech encoders, the way the paper compares Emotion2Vec-S (Tables III-IV).

Frame features of every clip are extracted once per model and cached (a rerun reuses them and the finished folds).
Per fold of each dataset (`fold_<k>` configs of a `prepare-data` folder, or the given --folds), each head is trained
on the fold's training split (20 % held out to choose the epoch by UA) and scored on its test split: WA, UA and
macro-F1 by the evaluation metric module, averaged over folds in a Markdown table per corpus. Any transformers
speech encoder (WavLM, HuBERT, data2vec, ...) can be probed beside Emotion2Vec-S as a baseline.
"""

from . import arguments

HELP = "EmoBox-style probe: frozen features, a small head per fold, WA/UA/F1 per corpus"


def add_arguments(parser) -> None:
    parser.add_argument("--model", action="append", required=True,
                        help="encoder folder or Hub id (repeatable: Emotion2Vec-S and baselines in one table)")
    parser.add_argument("--dataset", action="append", required=True,
                        help="dataset folder from prepare-data, or Hub id with id/audio/emotion columns (repeatable)")
    parser.add_argument("--folds", nargs="+", help="configs to run (default: every fold_<k>, else the first config)")
    parser.add_argument("--heads", nargs="+", choices=("paper", "emotion2vec"), default=["paper", "emotion2vec"],
                        help="paper: 3 FC layers over pooled features; emotion2vec: Linear-ReLU-pool-Linear")
    parser.add_argument("--out", required=True,
                        help="output folder: results.json, results.md, features/; a rerun resumes the results in it")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard earlier results and cached features in --out instead of resuming them")
    parser.add_argument("--cache-dir", help="feature cache (default: OUT/features)")
    parser.add_argument("--epochs", type=arguments.positive_int, default=100, help="head training epochs")
    parser.add_argument("--lr", type=arguments.positive_float, default=5e-4, help="Adam learning rate of the heads")
    parser.add_argument("--batch-size", type=arguments.positive_int, default=128, help="clips per head training step")
    parser.add_argument("--no-layer-norm", action="store_true",
                        help="skip EmoBox's per-clip layer norm of the features")
    parser.add_argument("--label-column", default="emotion", help="label column of the datasets")
    arguments.add_device(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the heads and of the validation split")


def run(args) -> int:
    from ..dataset_source import check_source

    for source in args.dataset:  # a missing folder in one line, before torch or datasets are imported
        check_source(source)
    from ..probe import probe

    report = probe(
        args.model, args.dataset, args.out, folds=args.folds, heads=tuple(args.heads), cache_dir=args.cache_dir,
        epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, layer_norm=not args.no_layer_norm,
        label_column=args.label_column, device=args.device, seed=args.seed, overwrite=args.overwrite,
    )
    for source, failed in report["failed"].items():
        for reason in failed.values():
            print(f"left out ({source}): {reason}")
    print(report["tables"])
    return 0
