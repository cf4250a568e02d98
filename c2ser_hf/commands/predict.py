"""`c2ser-hf predict`: the emotion (and the model's answer) for audio files, one result per file; or for every clip
of a dataset (`--dataset`), one JSON line per clip in `--out`, resumable, data-parallel under torchrun /
accelerate launch, and streamed with `--streaming`.

The same as one Python call: `c2ser_hf.predict.predict` (files) or `c2ser_hf.corpus.prediction.predict_dataset`."""

import os

from . import arguments

HELP = "emotion (and explanation) for audio files, or for every clip of a dataset"


def add_arguments(parser) -> None:
    parser.add_argument("audio", nargs="*", help="audio files (any format FFmpeg decodes; over 30 s is windowed)")
    arguments.add_model(parser, "C2SER folder or Hub id, or 'official' (the released model, converted once and cached)")
    parser.add_argument("--mode", default="implicit", help="implicit, explicit (chain of thought) or a custom prompt")
    parser.add_argument("--scores", action="store_true", help="probabilities of the 7 emotions; label = their argmax")
    parser.add_argument("--scores-only", action="store_true",
                        help="the probabilities alone, no answer generated (the cheapest labelling)")
    arguments.add_answer_language(parser, dataset=True)
    parser.add_argument("--json", action="store_true", help="one JSON object per input file")
    arguments.add_batch_size(parser, "audio windows")
    arguments.add_device(parser)
    parser.add_argument("--dtype", choices=arguments.DTYPES, default="float32",
                        help="dtype of the language model (encoders stay float32)")
    parser.add_argument("--max-new-tokens", type=arguments.positive_int,
                        help="answer length limit (default: the model's generation config, 400)")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding instead of the model's default")
    arguments.add_speed_options(parser)
    corpus = parser.add_argument_group("a whole dataset instead of files")
    corpus.add_argument("--dataset", metavar="D",
                        help="prepare-data or save_to_disk folder, or Hub id, of a dataset with an audio column")
    corpus.add_argument("--config", help="the dataset's config (default: its default one)")
    corpus.add_argument("--split", help="the split to label (default: the dataset's only split)")
    corpus.add_argument("--streaming", action="store_true",
                        help="read the rows as they come instead of reading every clip's duration first")
    corpus.add_argument("--out", help="output folder (with --dataset): predictions.jsonl and run.json; a rerun "
                        "resumes the predictions in it")
    arguments.add_overwrite(parser)


def run(args) -> int:
    if bool(args.audio) == bool(args.dataset):
        raise ValueError("give audio files, or --dataset (with --out), not both")
    if args.dataset and not args.out:
        raise ValueError("--dataset needs --out, the folder its predictions.jsonl goes to")
    if args.answer_language == "dataset" and not args.dataset:
        raise ValueError("--answer-language dataset reads a dataset's language column: give --dataset")
    if args.dataset:  # a dataset that cannot be opened, or a folder that is not ours or that another run holds, is
        # refused before the model loads
        from ..dataset_io import check_source
        from ..output_folder import check_results_folder

        check_source(args.dataset)
        check_results_folder(args.out, [args.dataset, args.model])
    # the model is checked before the inference stack is imported: a bad --model fails in well under a second
    from ..corpus.ranks import local_device
    from ..model_loading import load_c2ser

    model, processor = load_c2ser(args.model, dtype=args.dtype, device=local_device(args.device),
                                  cache_dir=args.cache_dir, command="predict", **arguments.speed_options(args))
    generate_kwargs = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    if args.greedy:
        generate_kwargs.update(num_beams=1, do_sample=False)
    mode = None if args.scores_only else args.mode
    scores = args.scores or args.scores_only
    if args.dataset:
        return _predict_dataset(args, model, processor, mode, scores, generate_kwargs)
    from ..predict import predict

    results = predict(model, processor, args.audio, mode=mode, scores=scores, batch_size=args.batch_size,
                      answer_language=args.answer_language, **generate_kwargs)

    def line(result):
        score = f" ({result['scores'][result['emotion']]:.2f})" if "scores" in result else ""
        return f"{result['emotion']}{score}" + (f"  {result['text']}" if "text" in result else "")

    from .reporting import report_per_file

    return report_per_file(results, args.json, line)


def _predict_dataset(args, model, processor, mode, scores, generate_kwargs) -> int:
    from ..corpus.prediction import predict_dataset

    summary = predict_dataset(model, processor, args.dataset, args.out, config=args.config, split=args.split,
                              mode=mode, scores=scores, batch_size=args.batch_size,
                              answer_language=args.answer_language, streaming=args.streaming,
                              overwrite=args.overwrite, **generate_kwargs)
    if summary is None:  # one summary for a data-parallel run, from rank 0
        return 0
    print(f"{summary['clips']} clips in {summary['predictions']} ({summary['predicted_now']} predicted now, "
          f"{summary['failed']} failed, {summary['processes']} process{'es' if summary['processes'] > 1 else ''})")
    return 1 if summary["failed"] else 0

