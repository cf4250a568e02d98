"""Create (or update) the Gradio Space of C2SER on the Hub: the app, its README with the Space's YAML header, its
requirements, the example clips and this package's source, uploaded in one commit. Run it from a checkout of
c2ser-hf (the Space is its `spaces/` folder)."""

from . import arguments

HELP = "upload the Gradio demo (spaces/) as a Hugging Face Space"


def add_arguments(parser) -> None:
    parser.add_argument("--repo-id", required=True, help="the Space's namespace/name on the Hub")
    parser.add_argument("--model", help="Hub id of the C2SER model the Space serves (default: the official release, "
                                        "converted when the Space starts)")
    parser.add_argument("--space-dir", help="the Space folder (default: spaces/ of this checkout)")
    parser.add_argument("--hardware", help="Space hardware, e.g. l4x1 (default: the Hub's; the 7B model needs a GPU)")
    arguments.add_hub_upload(parser)


def run(args) -> int:
    from ..demo.space import push_space

    url = push_space(args.repo_id, space_dir=args.space_dir, model=args.model, hardware=args.hardware,
                     private=args.private, token=args.token, endpoint=args.endpoint)
    print(f"uploaded the Space {args.repo_id}: {url}")
    return 0
