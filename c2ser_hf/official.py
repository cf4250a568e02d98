"""From the official Hub repos to a ready C2SER folder in one call; the converted result is cached."""

import hashlib
import os
from pathlib import Path

from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

from .convert_c2ser import DEFAULT_BASE_MODEL, convert_c2ser
from .hub import HubError, hub_errors

C2SER_REPO, C2SER_FILE = "ASLP-lab/C2SER-LLM", "C2SER_llm.pt"
EMOTION2VEC_REPO, EMOTION2VEC_FILE = "ASLP-lab/Emotion2Vec-S", "checkpoint.pt"


def _resolve(repo_or_dir: str | os.PathLike, filename: str, cache_dir) -> Path:
    """A file of a Hub repo (downloaded or from the cache; offline mode uses the cache only) or of a local folder
    laid out like the repo."""
    if Path(repo_or_dir).is_dir():
        path = Path(repo_or_dir) / filename
        if not path.is_file():
            raise FileNotFoundError(f"{repo_or_dir}: has no {filename}")
        return path
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:  # the cache first: no network call, so no wait, when the file is there
        return Path(hf_hub_download(str(repo_or_dir), filename, cache_dir=cache_dir, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    cache = cache_dir or constants.HF_HUB_CACHE
    if constants.HF_HUB_OFFLINE:
        raise HubError(f"{repo_or_dir}/{filename}: not in the cache {cache} and HF_HUB_OFFLINE is set; download it "
                       "once online, or pass local folders laid out like the official repos")
    with hub_errors(f"{repo_or_dir}/{filename} (not in the cache {cache})"):
        # one request without retries first: a file not in the cache makes hf_hub_download retry a failing network
        # for about 25 s before it gives up; this answers in one attempt (bounded by the etag timeout)
        get_hf_file_metadata(hf_hub_url(str(repo_or_dir), filename), timeout=constants.HF_HUB_ETAG_TIMEOUT)
        return Path(hf_hub_download(str(repo_or_dir), filename, cache_dir=cache_dir))


def from_official(
    cache_dir: str | os.PathLike | None = None,
    light: bool = True,
    c2ser_repo: str | os.PathLike = C2SER_REPO,
    emotion2vec_repo: str | os.PathLike = EMOTION2VEC_REPO,
    base_model: str | os.PathLike = DEFAULT_BASE_MODEL,
) -> Path:
    """Fetch the official checkpoints, convert them once, and return the converted folder (load it with
    `AutoModelForMultimodalLM.from_pretrained` and `AutoProcessor.from_pretrained`). The result lives under
    `cache_dir` (default: the Hugging Face cache) in a folder named after the inputs, so later calls reuse it."""
    checkpoint = _resolve(c2ser_repo, C2SER_FILE, cache_dir)
    emotion2vec = _resolve(emotion2vec_repo, EMOTION2VEC_FILE, cache_dir)
    identity = "|".join(
        [str(checkpoint.resolve()), str(checkpoint.stat().st_size), str(emotion2vec.resolve()),
         str(emotion2vec.stat().st_size), str(base_model), "light" if light else "merged"]
    )
    root = Path(cache_dir) if cache_dir is not None else Path(constants.HF_HUB_CACHE)
    out = root / "c2ser-hf" / f"official-{'light' if light else 'merged'}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    if not (out / "config.json").is_file():
        convert_c2ser(checkpoint, emotion2vec, out, base_model=base_model, light=light, overwrite=out.exists(),
                      cache_dir=cache_dir)
    return out
