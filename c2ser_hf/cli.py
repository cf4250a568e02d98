"""`c2ser-hf` command line: argument parsing only; each command is one library call."""

import argparse
import sys
from pathlib import Path

from .commands import train
from .model_sizes import SIZES
from .modeling.configuration_emotion2vec_s import UTTERANCE_SOURCES


def _convert_emotion2vec(args) -> int:
    from .convert_emotion2vec import convert_emotion2vec

    labels = None
    if args.labels:
        path = Path(args.labels)
        labels = path.read_text(encoding="utf-8").split() if path.is_file() else args.labels.split(",")
    report = convert_emotion2vec(
        args.checkpoint, args.out, labels=labels, normalize_waveform=args.normalize_waveform, overwrite=args.overwrite
    )
    print(f"converted {report.tensors} tensors ({report.source_format}) into {report.model_class} at {args.out}")
    if report.dropped:
        print(f"dropped {len(report.dropped)} pretraining-only tensors: {', '.join(report.dropped)}")
    if report.labels:
        print(f"labels: {report.labels}")
    return 0


def _convert_c2ser(args) -> int:
    import torch

    from .convert_c2ser import convert_c2ser

    report = convert_c2ser(
        args.checkpoint, args.emotion2vec, args.out, base_model=args.base_model, light=args.light,
        llm_dtype={"bfloat16": torch.bfloat16, "float32": torch.float32}[args.dtype], overwrite=args.overwrite,
        max_shard_bytes=int(args.max_shard_gb * 1e9),
    )
    lora = f"kept {report.lora_adapter} LoRA pairs as an adapter" if args.light else f"merged {report.lora_merged} LoRA pairs"
    print(f"converted {report.tensors} tensors into {args.out}; {lora}")
    for key, reason in report.dropped.items():
        print(f"dropped {key}: {reason}")
    return 0


def _extract_features(args) -> int:
    import torch
    from transformers import AutoFeatureExtractor

    from .extract_features import extract_features_to_files
    from .modeling import Emotion2VecSModel

    model = Emotion2VecSModel.from_pretrained(args.model).to(args.device).eval()
    feature_extractor = AutoFeatureExtractor.from_pretrained(args.model)
    with torch.inference_mode():
        report = extract_features_to_files(
            model,
            feature_extractor,
            args.audio,
            args.out,
            level=args.level,
            utterance_source=args.utterance_source,
            max_batch_size=args.batch_size,
        )
    for reason in report.failed.values():
        print(f"failed: {reason}", file=sys.stderr)
    print(f"wrote {len(report.written)} file(s) to {args.out}; {len(report.failed)} failed")
    return 1 if report.failed else 0


def _new(args) -> int:
    from .new_model import write_random_c2ser

    write_random_c2ser(args.out, size=args.size, seed=args.seed, tokenizer=args.tokenizer, overwrite=args.overwrite)
    print(f"wrote a randomly initialised {args.size} C2SER model and processor to {args.out}")
    return 0


def _predict(args) -> int:
    import torch
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from .predict import predict

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.dtype]
    if args.model == "official":
        from .official import from_official

        args.model = str(from_official(cache_dir=args.cache_dir))
    processor = AutoProcessor.from_pretrained(args.model, cache_dir=args.cache_dir)
    model = AutoModelForMultimodalLM.from_pretrained(args.model, dtype=dtype, cache_dir=args.cache_dir)
    model = model.to(args.device).eval()
    generate_kwargs = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    if args.greedy:
        generate_kwargs.update(num_beams=1, do_sample=False)
    results = predict(model, processor, args.audio, mode=args.mode, scores=args.scores, batch_size=args.batch_size,
                      **generate_kwargs)

    def line(result):
        score = f" ({result['scores'][result['emotion']]:.2f})" if "scores" in result else ""
        return f"{result['emotion']}{score}  {result['text']}"

    return _report_per_file(results, args.json, line)


def _report_per_file(results: list[dict], as_json: bool, line) -> int:
    """Print one result per input file (JSON, or `file: line(result)`), the failures again on stderr; exit status 1
    when any failed."""
    import json

    for result in results:
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        elif "error" in result:
            print(f"{result['file']}: error: {result['error']}")
        else:
            print(f"{result['file']}: {line(result)}")
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"failed: {result['error']}", file=sys.stderr)
    return 1 if failed else 0


def _push(args) -> int:
    from .hub import push_to_hub

    url = push_to_hub(args.model, args.repo_id, private=args.private, token=args.token, endpoint=args.endpoint)
    print(f"uploaded {args.model} to {args.repo_id}: {url}")
    return 0


def _acoustics(args) -> int:
    from .cot.acoustics import AcousticMeter, measure_files

    texts = None
    if args.texts:
        texts = Path(args.texts).read_text(encoding="utf-8").splitlines()
        if len(texts) != len(args.audio):
            raise ValueError(f"{args.texts}: {len(texts)} lines for {len(args.audio)} audio files (one per file)")
    elif args.text is not None:
        texts = [args.text] * len(args.audio)
    results = measure_files(args.audio, texts, [args.language] * len(args.audio),
                            meter=AcousticMeter(args.pitch_estimator, **_pitch_options(args)))

    def line(result):
        values = "  ".join(f"{k} {result[k]:.2f}" if result[k] is not None else f"{k} -"
                           for k in ("pitch_hz", "loudness_lufs", "speaking_rate", "speech_duration_s"))
        notes = "; ".join(f"{k}: {v}" for k, v in result["reasons"].items())
        return values + (f"  ({notes})" if notes else "")

    return _report_per_file(results, args.json, line)


def _build_cot(args) -> int:
    import json

    from .cot import EndpointDescriber, TransformersDescriber, build_cot

    describer = None
    if args.llm:
        describer = TransformersDescriber(args.llm, batch_size=args.llm_batch_size, device=args.device)
    elif args.llm_endpoint:
        describer = EndpointDescriber(args.llm_endpoint, model=args.llm_model, api_key=args.api_key)
    report = build_cot(
        args.dataset, args.out, stats=args.stats, describer=describer, pitch=args.pitch_estimator,
        pitch_options=_pitch_options(args), num_proc=args.num_proc, shard_size=args.shard_size, retries=args.retries,
        seed=args.seed, split=args.split, config=args.config, stats_split=args.stats_split, overwrite=args.overwrite,
    )
    summary = report.as_dict()
    print(f"wrote {sum(summary['rows'].values())} rows to {args.out} "
          f"({summary['shards_computed']} shards computed, {summary['shards_reused']} reused from an earlier run)")
    print("descriptions: " + json.dumps(summary["descriptions"]))
    if summary["unmeasured"]:
        print("unmeasured: " + json.dumps(summary["unmeasured"], ensure_ascii=False))
    return 0


def _prepare_data(args) -> int:
    from .datasets_scripts.corpora import layouts
    from .prepare_data import prepare_data

    if args.list:
        print("\n".join(layouts()))
        return 0
    if not (args.corpus and args.source and args.out):
        raise ValueError("give CORPUS, --source and --out (or --list)")
    report = prepare_data(
        args.corpus, args.source, args.out, configs=args.config, num_proc=args.num_proc, skip_bad=args.skip_bad,
        max_seconds=args.max_seconds, audio_root=args.audio_root, overwrite=args.overwrite,
        push_to_hub=args.push_to_hub, token=args.token, private=args.private, endpoint=args.endpoint,
    )
    print("\n".join(report.summary()))
    if args.push_to_hub:
        print(f"uploaded {args.out} to the dataset repo {args.push_to_hub}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="c2ser-hf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert official checkpoints to Hugging Face folders")
    kinds = convert.add_subparsers(dest="kind", required=True)
    e2v = kinds.add_parser("emotion2vec", help="emotion2vec / Emotion2Vec-S, fairseq or FunASR checkpoint")
    e2v.add_argument("--checkpoint", required=True, help="fairseq checkpoint.pt or FunASR model.pt")
    e2v.add_argument("--out", required=True, help="output folder (written atomically)")
    e2v.add_argument("--labels", help="class names of a classification layer: comma-separated, or a file")
    e2v.add_argument(
        "--normalize-waveform",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="waveform layer norm in the feature extractor (default: the checkpoint's stored `normalize`)",
    )
    e2v.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    e2v.set_defaults(func=_convert_emotion2vec)
    c2ser = kinds.add_parser("c2ser", help="the official C2SER_llm.pt (wenet) with its Emotion2Vec-S checkpoint")
    c2ser.add_argument("--checkpoint", required=True, help="C2SER_llm.pt")
    c2ser.add_argument("--emotion2vec", required=True, help="Emotion2Vec-S fairseq checkpoint.pt")
    c2ser.add_argument("--base-model", default="Qwen/Qwen2-7B", help="base LLM folder or Hub id (config, tokenizer)")
    c2ser.add_argument("--out", required=True, help="output folder (written atomically)")
    kind = c2ser.add_mutually_exclusive_group()
    kind.add_argument("--merge-lora", action="store_true", help="one self-contained model, LoRA merged (default)")
    kind.add_argument("--light", action="store_true", help="trained parts + LoRA adapter + the base model's id")
    c2ser.add_argument("--dtype", choices=("bfloat16", "float32"), default="bfloat16", help="LLM dtype")
    c2ser.add_argument("--max-shard-gb", type=float, default=5.0,
                       help="output shard size; memory use follows it (the checkpoint is read shard by shard)")
    c2ser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    c2ser.set_defaults(func=_convert_c2ser)

    new = commands.add_parser("new", help="a randomly initialised C2SER model + processor (tests, demos)")
    new.add_argument("--out", required=True, help="output folder (written atomically)")
    new.add_argument("--size", choices=SIZES, default="tiny")
    new.add_argument("--seed", type=int, default=0)
    new.add_argument("--tokenizer", help="Qwen2 tokenizer folder or Hub id (needed for --size full)")
    new.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    new.set_defaults(func=_new)

    predict = commands.add_parser("predict", help="emotion (and explanation) for audio files")
    predict.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes; > 30 s is windowed)")
    predict.add_argument("--model", required=True,
                         help="C2SER folder or Hub id, or 'official' (the released model, converted once and cached)")
    predict.add_argument("--cache-dir", help="Hugging Face cache folder (default: the standard one)")
    predict.add_argument("--mode", default="implicit", help="implicit, explicit (chain of thought) or a custom prompt")
    predict.add_argument("--scores", action="store_true", help="probabilities of the 7 emotions; label = their argmax")
    predict.add_argument("--json", action="store_true", help="one JSON object per input")
    predict.add_argument("--batch-size", type=int, default=8)
    predict.add_argument("--device", default="cpu")
    predict.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                         help="dtype of the language model (encoders stay float32)")
    predict.add_argument("--max-new-tokens", type=int, help="default: the model's generation config (400)")
    predict.add_argument("--greedy", action="store_true", help="greedy decoding instead of the 4-beam default")
    predict.set_defaults(func=_predict)

    push = commands.add_parser("push", help="upload a model folder to the Hub with a generated model card")
    push.add_argument("--model", required=True, help="converted C2SER folder")
    push.add_argument("--repo-id", required=True, help="namespace/name on the Hub")
    push.add_argument("--private", action="store_true")
    push.add_argument("--token", help="Hub token (default: the logged-in one)")
    push.add_argument("--endpoint", help="Hub endpoint (default: huggingface.co or HF_ENDPOINT)")
    push.set_defaults(func=_push)

    extract = commands.add_parser("extract-features", help="Emotion2Vec-S features, one .npy per audio file")
    extract.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes)")
    extract.add_argument("--model", required=True, help="converted Emotion2Vec-S folder or Hub id")
    extract.add_argument("--level", choices=("frame", "utterance"), default="frame")
    extract.add_argument("--utterance-source", choices=UTTERANCE_SOURCES, help="default: the model's config")
    extract.add_argument("--out", required=True, help="output folder")
    extract.add_argument("--batch-size", type=int, default=8)
    extract.add_argument("--device", default="cpu")
    extract.set_defaults(func=_extract_features)

    acoustics = commands.add_parser("acoustics", help="pitch, loudness and speaking rate of audio files")
    acoustics.add_argument("audio", nargs="+", help="audio files (any format FFmpeg decodes)")
    transcripts = acoustics.add_mutually_exclusive_group()
    transcripts.add_argument("--text", help="the transcript (of every file); needed for the speaking rate")
    transcripts.add_argument("--texts", help="a file with one transcript per line, in the order of the audio files")
    acoustics.add_argument("--language", choices=("en", "zh"), help="transcript language (default: detected)")
    _pitch_arguments(acoustics)
    acoustics.add_argument("--json", action="store_true", help="one JSON object per file")
    acoustics.set_defaults(func=_acoustics)

    cot = commands.add_parser("build-cot", help="chain-of-thought targets for a labelled speech dataset")
    cot.add_argument("--dataset", required=True,
                     help="dataset folder (parquet/README, or save_to_disk) or Hub id with audio, text, emotion columns")
    cot.add_argument("--out", required=True, help="output dataset folder (written when complete; OUT.work resumes)")
    cot.add_argument("--config", help="the dataset's config, e.g. zh of a prepared Emo-Emilia")
    cot.add_argument("--split", help="only this split (default: all)")
    cot.add_argument("--stats", help="corpus statistics JSON from an earlier build (default: computed and saved)")
    cot.add_argument("--stats-split", help="split the statistics come from (default: train if present, else all)")
    describer = cot.add_mutually_exclusive_group()
    describer.add_argument("--llm", help="local instruct model folder or Hub id (transformers)")
    describer.add_argument("--llm-endpoint", help="OpenAI-compatible server base URL, e.g. http://host:8000/v1")
    describer.add_argument("--template-only", action="store_true", help="template descriptions, no LLM (default)")
    cot.add_argument("--llm-model", default="default", help="model name sent to --llm-endpoint")
    cot.add_argument("--api-key", help="key for --llm-endpoint (default: none)")
    cot.add_argument("--llm-batch-size", type=int, default=8)
    cot.add_argument("--device", help="device of --llm (default: cuda if available)")
    cot.add_argument("--retries", type=int, default=2, help="LLM retries of a failing description before the template")
    cot.add_argument("--seed", type=int, default=0)
    cot.add_argument("--num-proc", type=int, default=1, help="processes measuring acoustics")
    cot.add_argument("--shard-size", type=int, default=256, help="rows per resumable unit of work")
    _pitch_arguments(cot)
    cot.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    cot.set_defaults(func=_build_cot)

    prepare = commands.add_parser("prepare-data", help="a corpus on disk -> Hub-ready dataset (parquet + configs + card)")
    prepare.add_argument("corpus", nargs="?", help="corpus name (see --list)")
    prepare.add_argument("--list", action="store_true", help="name the supported corpora and the layout each expects")
    prepare.add_argument("--source", help="the corpus as distributed (or its EmoBox data/<dataset>/ folder)")
    prepare.add_argument("--out", help="output folder (written atomically)")
    prepare.add_argument("--config", action="append", help="write only this config (repeatable; default: all)")
    prepare.add_argument("--num-proc", type=int, default=1, help="processes decoding audio")
    prepare.add_argument("--skip-bad", action="store_true", help="skip and report bad rows instead of stopping")
    prepare.add_argument("--max-seconds", type=float,
                         help="drop longer utterances (default: the paper's 20 s; none for Emo-Emilia; 0: keep all)")
    prepare.add_argument("--audio-root", help="EmoBox layout: folder the `wav` paths are relative to")
    prepare.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    prepare.add_argument("--push-to-hub", metavar="REPO_ID", help="then upload the folder to this dataset repo")
    prepare.add_argument("--private", action="store_true")
    prepare.add_argument("--token", help="Hub token (default: the logged-in one)")
    prepare.add_argument("--endpoint", help="Hub endpoint (default: huggingface.co or HF_ENDPOINT)")
    prepare.set_defaults(func=_prepare_data)

    for name, command in (("train", train),):
        subparser = commands.add_parser(name, help=command.HELP, description=command.__doc__,
                                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        command.add_arguments(subparser)
        subparser.set_defaults(func=command.run, accepts_unknown=getattr(command, "ACCEPTS_UNKNOWN_ARGUMENTS", False))
    return parser


def _pitch_arguments(parser) -> None:
    from .cot.pitch import PITCH_ESTIMATORS

    parser.add_argument("--pitch-estimator", choices=sorted(PITCH_ESTIMATORS), default="praat")
    parser.add_argument("--penn-checkpoint", help="PENN weights file (with --pitch-estimator penn)")


def _pitch_options(args) -> dict:
    return {"checkpoint": args.penn_checkpoint} if args.pitch_estimator == "penn" else {}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_unknown", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.unknown = unknown
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as error:
        print(f"c2ser-hf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
