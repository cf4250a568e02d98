"""The Space as it is uploaded: `spaces/` of this checkout, the example clips, the tested pins and the package
source (which the Space installs itself), staged in a folder and pushed to the Hub in one commit."""

import os
import shutil
import tempfile
from pathlib import Path

import yaml
from huggingface_hub import HfApi

from ..hub import hub_errors

from .examples import write_examples

# What a Space needs of this checkout to install the package itself (spaces/requirements.txt names `./c2ser-hf`).
PACKAGE_SOURCES = ("c2ser_hf", "modeling", "processing", "datasets_scripts")
PACKAGE_FILES = ("setup.cfg", "pyproject.toml", "README.md")
SPACE_PACKAGE_DIR, SPACE_MODEL_VARIABLE = "c2ser-hf", "C2SER_MODEL"
# Written in spaces/README.md where the Space's own id goes; replaced on upload.
SPACE_PLACEHOLDER = "OWNER/SPACE"


def default_space_dir() -> Path:
    """`spaces/` of the checkout this package is installed from (an editable install)."""
    return Path(__file__).resolve().parents[2] / "spaces"


def stage_space(space_dir: str | os.PathLike, out: str | os.PathLike, repo_id: str | None = None,
                model: str | None = None) -> Path:
    """Lay out the Space as it is uploaded into `out`: the files of `space_dir` (app, README with YAML header,
    requirements, packages), the example clips, the checkout's `constraints.txt`, and the package source under
    `c2ser-hf/`. The README's client snippet names `repo_id`; with `model` (a Hub id) its `models:` names it."""
    space_dir, out = Path(space_dir), Path(out)
    root = space_dir.resolve().parent
    missing = [name for name in ("app.py", "README.md", "requirements.txt") if not (space_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{space_dir}: not a Space folder (no {', '.join(missing)})")
    if not (root / "setup.cfg").is_file() or not (root / "constraints.txt").is_file():
        raise FileNotFoundError(f"{root}: the Space folder must sit in a c2ser-hf checkout "
                                "(no setup.cfg or constraints.txt)")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    # examples/ is written anew below: a local run may have left clips of an older script there.
    shutil.copytree(space_dir, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "examples"),
                    dirs_exist_ok=True)
    write_examples(out / "examples")
    shutil.copy2(root / "constraints.txt", out / "constraints.txt")
    for name in PACKAGE_SOURCES:
        shutil.copytree(root / name, out / SPACE_PACKAGE_DIR / name, ignore=ignore, dirs_exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copy2(root / name, out / SPACE_PACKAGE_DIR / name)
    readme = (out / "README.md").read_text(encoding="utf-8")
    _, header, body = readme.split("---\n", 2)
    metadata = yaml.safe_load(header)
    if model is not None:
        metadata["models"] = [model]
    if repo_id is not None:
        body = body.replace(SPACE_PLACEHOLDER, repo_id)
    header = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
    (out / "README.md").write_text(f"---\n{header}---\n{body}", encoding="utf-8")
    return out


def push_space(
    repo_id: str,
    space_dir: str | os.PathLike | None = None,
    model: str | None = None,
    hardware: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Create (or reuse) the Gradio Space `repo_id` and upload the staged Space in one commit; with `model` (a Hub
    id) the Space serves that model (Space variable C2SER_MODEL) instead of converting the official release.
    `hardware` is a Space hardware name such as "l4x1" (the released 7B model needs a GPU). Returns the commit URL."""
    if model is not None and Path(model).exists():
        raise ValueError(f"--model {model}: a Space cannot read this machine's files; give the model's Hub id "
                         "(upload it first with `c2ser-hf push`)")
    space_dir = Path(space_dir) if space_dir is not None else default_space_dir()
    with tempfile.TemporaryDirectory() as staging:
        staged = stage_space(space_dir, staging, repo_id, model)
        with hub_errors(f"push-space {repo_id}"):
            api = HfApi(endpoint=endpoint, token=token)
            api.create_repo(repo_id, repo_type="space", space_sdk="gradio", space_hardware=hardware,
                            private=private, exist_ok=True)
            commit = api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=staged,
                                       commit_message="Upload the C2SER Space")
            if model is not None:
                api.add_space_variable(repo_id, SPACE_MODEL_VARIABLE, model)
    return commit.commit_url
