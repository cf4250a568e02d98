"""`c2ser-hf evaluate --stability [FAMILY ...]`: the stability options of `evaluate` and the run that uses them
(`c2ser_hf.evaluation.stability.evaluate_stability`, sharing evaluate's model, dataset and output options)."""

import os

from ..evaluation.decoding import MODES
from ..evaluation.stability import DEFAULT_FAMILIES, FAMILIES
from . import arguments


def add_arguments(parser) -> None:
    group = parser.add_argument_group("stability (how often the emotion flips when nothing emotional changed)")
    group.add_argument("--stability", nargs="*", choices=FAMILIES, metavar="FAMILY",
                       help=f"ask every clip again under the variants of these families ({', '.join(FAMILIES)}; "
                            f"none named: {' '.join(DEFAULT_FAMILIES)}, about 10 times one evaluation) and report "
                            "flip rate, Fleiss' kappa, Jensen-Shannon divergence and accuracy per variant")
    group.add_argument("--stability-modes", nargs="+", choices=MODES, metavar="MODE",
                       help="modes run side by side, e.g. implicit explicit (default: --mode)")
    group.add_argument("--paraphrases", metavar="FILE",
                       help="JSON {\"implicit\"|\"explicit\": {\"en\"|\"zh\": [prompt, ...]}} added to the shipped "
                            "paraphrases (\"replace\": true uses only these)")
    group.add_argument("--samples", type=arguments.positive_int, default=4,
                       help="answers sampled per clip by the decoding family")
    group.add_argument("--temperature", type=arguments.positive_float, default=0.7,
                       help="sampling temperature of the decoding family")


def run(args) -> int:
    from ..evaluation.stability import evaluate_stability

    if args.predictions or not (args.model and args.dataset):
        raise ValueError("--stability needs --model and --dataset (saved predictions hold no variants)")
    if args.judge:
        raise ValueError("--stability reads answers with the parser; leave out --judge")
    section = evaluate_stability(
        args.model, args.dataset, args.out, families=args.stability or DEFAULT_FAMILIES,
        modes=args.stability_modes or [args.mode], samples=args.samples, temperature=args.temperature,
        paraphrases=args.paraphrases, configs=args.config, split=args.split, decoding=args.decoding,
        max_new_tokens=args.max_new_tokens, label_column=args.label_column, label_map=args.label_map,
        batch_size=args.batch_size, device=args.device, dtype=args.dtype, cache_dir=args.cache_dir,
        overwrite=args.overwrite, answer_language=args.answer_language, model_options=arguments.speed_options(args))
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    for entry in section["results"]:
        if "stability" not in entry:
            print(f"{entry['row']} · {entry['dataset']}: {entry['error']} ({entry['failed']} failed)")
            continue
        metrics = entry["stability"]
        families = "  ".join(f"{family} {_percent(values['flip_rate'])}"
                             for family, values in metrics["by_family"].items())
        print(f"{entry['row']} · {entry['dataset']}: accuracy clean {_percent(metrics['clean']['accuracy'])}, "
              f"under variants {_percent(metrics['overall']['accuracy'])}  flip rate "
              f"{_percent(metrics['overall']['flip_rate'])} ({families})  ({entry['clips']} clips, "
              f"{entry['failed']} failed)")
    print(f"results in {args.out}/results.json (\"stability\") and {args.out}/stability.md")
    return 1 if any(entry["failed"] for entry in section["results"]) else 0


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"
