"""Publishing a converted C2SER folder to the Hugging Face Hub, with a generated model card: exactly the files a
model needs (an allow-list by kind), and every network or auth failure as one line."""

import contextlib
import fnmatch
import os
import warnings
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi, constants

from .model_card import GENERATED_MARK, model_card
from .output_folder import MARKER

# what save_pretrained, the processor, the tokenizer, the adapter writer and the Hub-file copy put in a model folder
MODEL_FILE_KINDS = ("*.json", "*.safetensors", "*.py", "*.txt", "*.model", "*.tiktoken", "*.jinja", "README.md")


class HubError(RuntimeError):
    """The Hub could not be reached or refused the request; the message is one line."""


def upload_list(folder, kinds=MODEL_FILE_KINDS) -> tuple[list[Path], list[str]]:
    """The files of `folder` to upload (those of `kinds`, outside hidden folders, and no link that leads out of the
    folder), and the relative paths of what is left out and why."""
    folder = Path(folder)
    root = folder.resolve()
    chosen, left_out = [], []
    for directory, subfolders, names in os.walk(folder):
        subfolders.sort()
        for name in sorted(names) + [d for d in subfolders if Path(directory, d).is_symlink()]:
            path = Path(directory, name)
            relative = path.relative_to(folder)
            if relative.as_posix() == MARKER:  # our list of written files stays local, as expected
                continue
            if any(part.startswith(".") for part in relative.parts):
                left_out.append(f"{relative.as_posix()} (hidden)")
            elif path.is_symlink() and not path.resolve().is_relative_to(root):
                left_out.append(f"{relative.as_posix()} (a link out of the folder)")
            elif not path.is_file() or not any(fnmatch.fnmatch(name, kind) for kind in kinds):
                left_out.append(f"{relative.as_posix()} (not a model file)")
            else:
                chosen.append(path)
        subfolders[:] = [d for d in subfolders if not Path(directory, d).is_symlink()]
    return chosen, left_out


def warn_left_out(folder, left_out: list[str]) -> None:
    if left_out:
        warnings.warn(f"{folder}: not uploaded: {', '.join(left_out)}", stacklevel=3)


@contextlib.contextmanager
def hub_errors(what: str):
    """Turn the network, offline and HTTP errors of a Hub call into one `HubError` line naming `what`."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if constants.HF_HUB_OFFLINE:
        raise HubError(f"{what}: needs the Hub, but HF_HUB_OFFLINE is set (unset it, or use local folders)")
    try:
        yield
    except OfflineModeIsEnabled:
        raise HubError(f"{what}: needs the Hub, but HF_HUB_OFFLINE is set (unset it, or use local folders)") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise HubError(f"{what}: the Hub answered HTTP {status} ({' '.join(str(error).split())[:200]})") from None
    except (OSError, *_transport_errors()) as error:
        raise HubError(f"{what}: could not reach the Hub ({type(error).__name__}: "
                       f"{' '.join(str(error).split())[:160] or 'no answer'}); check the network") from None


def _transport_errors() -> tuple:
    """The transport errors of the HTTP client huggingface_hub uses (httpx, or its httpx2 fork in 2.x)."""
    import importlib

    errors = []
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(importlib.import_module(module).HTTPError)
    return tuple(errors)


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str = "Upload C2SER model",
    space_id: str | None = None,
) -> str:
    """Create (or reuse) `repo_id` and upload the model files of `folder` (`upload_list`; what is left out is named in
    a warning) in one commit, with a README.md model card generated for `repo_id` (linking the Space `space_id` when
    given); a README.md that a person wrote (without our generated mark) is uploaded as it is. Every check runs
    before the repo is created. Returns the commit URL."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json, not a model folder")
    files, left_out = upload_list(folder)
    readme = folder / "README.md"
    own_card = readme in files and GENERATED_MARK not in readme.read_text(encoding="utf-8")
    operations = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=p)
                  for p in files if own_card or p != readme]
    if not own_card:
        card = model_card(folder, repo_id, space_id)
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    warn_left_out(folder, left_out)
    with hub_errors(f"push {repo_id}"):
        api = HfApi(endpoint=endpoint, token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        return api.create_commit(repo_id, operations, commit_message=commit_message).commit_url
