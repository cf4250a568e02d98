"""`c2ser-hf evaluate`: WA, UA and macro-F1 of models on labelled speech datasets, in the layout of the paper's
Table VI, with confusion matrices and calibration; resumable, and data-parallel under torchrun / accelerate launch.

The same as one Python call: `c2ser_hf.evaluation.evaluate_model` (and `score_predictions` for `--predictions`)."""

import os

from ..evaluation.decoding import DECODINGS, MODES
from . import arguments, evaluate_stability

HELP = "score models on labelled speech datasets: WA, UA, macro-F1 per test set (resumable, data-parallel)"


def add_arguments(parser) -> None:
    parser.add_argument("--model", nargs="+", metavar="M",
                        help="C2SER folder or Hub id, 'official' (the released model, converted once), or an "
                             "audio-classification folder such as emotion2vec+ from `convert emotion2vec`; several "
                             "models give one table row each")
    parser.add_argument("--dataset", nargs="+", metavar="D",
                        help="prepare-data folder, Hub id with the same schema, or any dataset with an audio column "
                             "and a label column; DATASET:CONFIG picks that dataset's config")
    parser.add_argument("--predictions", nargs="+", metavar="FILE",
                        help="score saved predictions.jsonl files again, without a model (instead of --model and "
                             "--dataset)")
    parser.add_argument("--config", action="append",
                        help="config of every --dataset that names none, e.g. zh of a prepared Emo-Emilia; repeat "
                             "for several (default: each dataset's default config)")
    parser.add_argument("--split", default="test", help="the split scored")
    parser.add_argument("--label-column", default="emotion", help="the dataset's label column")
    parser.add_argument("--label-map", metavar="FILE",
                        help="JSON {label: emotion or null} for dataset or classifier labels that the built-in "
                             "English/Chinese wordings do not cover; null excludes a label")
    parser.add_argument("--mode", choices=MODES, default="scores",
                        help="scores: argmax of C2SER's emotion probabilities (no text to parse); implicit / "
                             "explicit: generate an answer with that prompt and parse it")
    parser.add_argument("--decoding", choices=DECODINGS, default="official",
                        help="with implicit/explicit: greedy, plain 4-beam search, or the released model's decoder")
    parser.add_argument("--max-new-tokens", type=arguments.positive_int,
                        help="answer length limit (default: the model's generation config, 400 for the released model)")
    parser.add_argument("--judge", metavar="MODEL|URL",
                        help="an LLM reads each answer's emotion as the paper's evaluation did (a model folder or Hub "
                             "id, or an OpenAI-compatible base URL); its agreement with the parser is reported")
    parser.add_argument("--judge-model", default="default", help="model name sent to a --judge URL")
    parser.add_argument("--api-key", help="key for a --judge URL")
    arguments.add_batch_size(parser, "clips, grouped by length,")
    arguments.add_answer_language(parser, dataset=True)
    arguments.add_speed_options(parser)
    parser.add_argument("--device", default="cpu", help="cpu, cuda (one GPU per process under torchrun), cuda:N")
    parser.add_argument("--dtype", choices=arguments.DTYPES, default="float32",
                        help="dtype of the language model (encoders stay float32)")
    parser.add_argument("--cache-dir", help="Hugging Face cache folder (default: the standard one)")
    parser.add_argument("--out", default="evaluation",
                        help="output folder: results.json, results.md, per model and dataset predictions.jsonl and "
                             "confusion.png, per model eval_results.json; a rerun resumes the predictions in it")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard earlier predictions in --out instead of resuming them")
    evaluate_stability.add_arguments(parser)


def run(args) -> int:
    from ..evaluation import evaluate_model, score_predictions

    if args.stability is not None:
        return evaluate_stability.run(args)
    if args.predictions:
        if args.model or args.dataset:
            raise ValueError("give --predictions alone, or --model and --dataset")
        results = score_predictions(args.predictions, args.out, judge=args.judge, judge_model=args.judge_model,
                                    api_key=args.api_key, device=None if args.device == "cpu" else args.device)
    else:
        if not (args.model and args.dataset):
            raise ValueError("give --model and --dataset (or --predictions FILE to score saved predictions)")
        results = evaluate_model(
            args.model, args.dataset, args.out, configs=args.config, split=args.split, mode=args.mode,
            decoding=args.decoding, max_new_tokens=args.max_new_tokens, label_column=args.label_column,
            label_map=args.label_map, judge=args.judge, judge_model=args.judge_model, api_key=args.api_key,
            batch_size=args.batch_size, device=args.device, dtype=args.dtype, cache_dir=args.cache_dir,
            overwrite=args.overwrite, answer_language=args.answer_language,
            model_options=arguments.speed_options(args),
        )
    if int(os.environ.get("RANK", "0")) != 0:  # one summary for a data-parallel run
        return 0
    for entry in results["results"]:
        if "metrics" not in entry:
            print(f"{entry['row']} · {entry['dataset']}: {entry['error']} ({entry['failed']} failed)")
            continue
        m = entry["metrics"]
        print(f"{entry['row']} · {entry['dataset']}: UA {100 * m['ua']:.2f}  WA {100 * m['wa']:.2f}  "
              f"F1 {100 * m['macro_f1']:.2f}  unparseable {100 * m['unparseable_rate']:.2f} %  "
              f"({entry['clips']} clips, {entry['failed']} failed)")
    print(f"results in {args.out}/results.json and {args.out}/results.md")
    return 1 if any(entry["failed"] for entry in results["results"]) else 0

