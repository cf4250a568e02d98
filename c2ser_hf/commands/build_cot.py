"""`c2ser-hf build-cot`: chain-of-thought targets (measured acoustics, levels, descriptions) for a labelled dataset."""

from . import arguments

HELP = "chain-of-thought targets for a labelled speech dataset"


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", required=True,
                        help="dataset folder (parquet/README, or save_to_disk) or Hub id with audio, text, emotion columns")
    parser.add_argument("--out", required=True,
                        help="output dataset folder (written when complete; OUT.work holds resumable progress)")
    parser.add_argument("--config", help="the dataset's config, e.g. zh of a prepared Emo-Emilia")
    parser.add_argument("--split", help="only this split (default: all)")
    parser.add_argument("--stats", help="corpus statistics JSON from an earlier build (default: computed and saved)")
    parser.add_argument("--stats-split", help="split the statistics come from (default: train if present, else all)")
    describer = parser.add_mutually_exclusive_group()
    describer.add_argument("--llm", help="local instruct model folder or Hub id (transformers)")
    describer.add_argument("--llm-endpoint", help="OpenAI-compatible server base URL, e.g. http://host:8000/v1")
    describer.add_argument("--template-only", action="store_true", help="template descriptions, no LLM (default)")
    parser.add_argument("--llm-model", default="default", help="model name sent to --llm-endpoint")
    parser.add_argument("--api-key", help="key for --llm-endpoint (default: none)")
    parser.add_argument("--llm-batch-size", type=arguments.positive_int, default=8, help="prompts per --llm batch")
    arguments.add_device(parser, default=None)
    parser.add_argument("--retries", type=arguments.non_negative_int, default=2,
                        help="LLM retries of a failing description before the template")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling in retries")
    parser.add_argument("--num-proc", type=arguments.positive_int, default=1, help="processes measuring acoustics")
    parser.add_argument("--shard-size", type=arguments.positive_int, default=256, help="rows per resumable unit of work")
    arguments.add_pitch(parser)
    arguments.add_overwrite(parser)


def run(args) -> int:
    import json

    from ..model_loading import resolve_model

    if args.llm:  # checked before the audio and data stack is imported: a bad value fails at once
        resolve_model(args.llm, None)
    from ..cot import EndpointDescriber, TransformersDescriber, build_cot

    describer = None
    if args.llm:
        describer = TransformersDescriber(args.llm, batch_size=args.llm_batch_size, device=args.device)
    elif args.llm_endpoint:
        describer = EndpointDescriber(args.llm_endpoint, model=args.llm_model, api_key=args.api_key)
    report = build_cot(
        args.dataset, args.out, stats=args.stats, describer=describer, pitch=args.pitch_estimator,
        pitch_options=arguments.pitch_options(args), num_proc=args.num_proc, shard_size=args.shard_size,
        retries=args.retries, seed=args.seed, split=args.split, config=args.config, stats_split=args.stats_split,
        overwrite=args.overwrite,
    )
    summary = report.as_dict()
    print(f"wrote {sum(summary['rows'].values())} rows to {args.out} "
          f"({summary['shards_computed']} shards computed, {summary['shards_reused']} reused from an earlier run)")
    print("descriptions: " + json.dumps(summary["descriptions"]))
    if summary["unmeasured"]:
        print("unmeasured: " + json.dumps(summary["unmeasured"], ensure_ascii=False))
    return 0
