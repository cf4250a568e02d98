"""`c2ser-hf convert emotion2vec|c2ser`: official checkpoints → Hugging Face model folders."""

import argparse
from pathlib import Path

from . import arguments

HELP = "convert official checkpoints to Hugging Face folders"


def add_arguments(parser) -> None:
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="{emotion2vec,c2ser}")
    e2v = kinds.add_parser("emotion2vec", help="emotion2vec / Emotion2Vec-S, fairseq or FunASR checkpoint",
                           formatter_class=parser.formatter_class)
    e2v.add_argument("--checkpoint", required=True, help="fairseq checkpoint.pt or FunASR model.pt")
    e2v.add_argument("--out", required=True, help="output folder (written atomically)")
    e2v.add_argument("--labels", help="class names of a classification layer: comma-separated, or a file")
    e2v.add_argument("--normalize-waveform", action=argparse.BooleanOptionalAction, default=None,
                     help="waveform layer norm in the feature extractor (default: the checkpoint's stored `normalize`)")
    arguments.add_overwrite(e2v)
    e2v.set_defaults(func=_emotion2vec)

    c2ser = kinds.add_parser("c2ser", help="the official C2SER_llm.pt (wenet) with its Emotion2Vec-S checkpoint",
                             formatter_class=parser.formatter_class)
    c2ser.add_argument("--checkpoint", required=True, help="C2SER_llm.pt")
    c2ser.add_argument("--emotion2vec", required=True, help="Emotion2Vec-S fairseq checkpoint.pt")
    c2ser.add_argument("--base-model", default="Qwen/Qwen2-7B", help="base LLM folder or Hub id (config, tokenizer)")
    c2ser.add_argument("--out", required=True, help="output folder (written atomically)")
    kind = c2ser.add_mutually_exclusive_group()
    kind.add_argument("--merge-lora", action="store_true", help="one self-contained model, LoRA merged (default)")
    kind.add_argument("--light", action="store_true", help="trained parts + LoRA adapter + the base model's id")
    c2ser.add_argument("--dtype", choices=("bfloat16", "float32"), default="bfloat16", help="LLM dtype")
    c2ser.add_argument("--max-shard-gb", type=arguments.positive_float, default=5.0,
                       help="output shard size; memory use follows it (the checkpoint is read shard by shard)")
    arguments.add_overwrite(c2ser)
    c2ser.set_defaults(func=_c2ser)


def run(args) -> int:
    return args.func(args)


def _emotion2vec(args) -> int:
    from ..convert_emotion2vec import convert_emotion2vec

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


def _c2ser(args) -> int:
    from ..model_loading import resolve_model

    resolve_model(args.base_model, "qwen2", "the base model of C2SER is Qwen2 (e.g. Qwen/Qwen2-7B)")
    import torch

    from ..convert_c2ser import convert_c2ser

    report = convert_c2ser(
        args.checkpoint, args.emotion2vec, args.out, base_model=args.base_model, light=args.light,
        llm_dtype=getattr(torch, args.dtype), overwrite=args.overwrite, max_shard_bytes=int(args.max_shard_gb * 1e9),
    )
    lora = f"kept {report.lora_adapter} LoRA pairs as an adapter" if args.light else f"merged {report.lora_merged} LoRA pairs"
    print(f"converted {report.tensors} tensors into {args.out}; {lora}")
    for key, reason in report.dropped.items():
        print(f"dropped {key}: {reason}")
    return 0
