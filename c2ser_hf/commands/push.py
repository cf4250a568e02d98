"""`c2ser-hf push`: upload a model folder to the Hub with a generated model card."""

from . import arguments

HELP = "upload a model folder to the Hub with a generated model card"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="converted or trained C2SER model folder")
    parser.add_argument("--repo-id", required=True, help="namespace/name on the Hub")
    arguments.add_hub_upload(parser)
    parser.add_argument("--space", help="namespace/name of a Space serving this model: the card links it and shows "
                                        "its gradio_client snippet (see push-space)")


def run(args) -> int:
    from ..model_loading import resolve_model

    resolve_model(args.model, "c2ser", "push uploads C2SER model folders", local_only=True)
    import sys
    import warnings

    from ..hub import push_to_hub

    with warnings.catch_warnings(record=True) as left_out:
        warnings.simplefilter("always")
        try:
            url = push_to_hub(args.model, args.repo_id, private=args.private, token=args.token,
                              endpoint=args.endpoint, space_id=args.space)
        finally:  # what was left out is said even when the upload then fails
            for warning in left_out:
                print(f"c2ser-hf push: warning: {warning.message}", file=sys.stderr)
    print(f"uploaded {args.model} to {args.repo_id}: {url}")
    return 0
