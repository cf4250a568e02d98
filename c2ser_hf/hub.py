"""Publishing a converted C2SER folder to the Hugging Face Hub, with a generated model card."""

import os
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from .model_card import GENERATED_MARK, model_card


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str = "Upload C2SER model",
    space_id: str | None = None,
) -> str:
    """Create (or reuse) `repo_id` and upload every file of `folder` in one commit, with a README.md model card
    generated for `repo_id` (linking the Space `space_id` when given); a README.md that a person wrote (without our
    generated mark) is uploaded as it is. Returns the commit URL."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json, not a model folder")
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    readme = folder / "README.md"
    own_card = readme.is_file() and GENERATED_MARK not in readme.read_text(encoding="utf-8")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    operations = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=p)
                  for p in files if own_card or p != readme]
    if not own_card:
        card = model_card(folder, repo_id, space_id)
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    return api.create_commit(repo_id, operations, commit_message=commit_message).commit_url
