"""`prepare_data`: one call from an original corpus on disk to a Hub-ready dataset folder (and, optionally, the Hub)."""

import dataclasses
from pathlib import Path

from .checkpoint_io import atomic_output_dir
from .datasets_scripts.corpora import CORPORA, read_corpus
from .datasets_scripts.schema import BadRowError, CorpusLayoutError
from .datasets_scripts.writer import PrepareReport, write_dataset
from .option_error import option_error


def prepare_data(
    corpus: str,
    source,
    out,
    *,
    configs: list[str] | None = None,
    num_proc: int = 1,
    skip_bad: bool = False,
    max_seconds: float | None = None,
    audio_root=None,
    overwrite: bool = False,
    push_to_hub: str | None = None,
    token: str | None = None,
    private: bool = False,
    endpoint: str | None = None,
) -> PrepareReport:
    """Read `corpus` from `source`, write it to `out` (parquet + README YAML configs + dataset card), load it back with
    `datasets.load_dataset(out, config)`.

    `max_seconds` None applies the corpus's default (the paper's 20 s, none for the Emo-Emilia test set); 0 keeps
    every duration. `push_to_hub` uploads the finished folder to that dataset repo."""
    rows = read_corpus(corpus, Path(source), Path(audio_root) if audio_root else None)
    if max_seconds is None:
        max_seconds = CORPORA[corpus].max_seconds
    try:
        with atomic_output_dir(out, overwrite=overwrite) as staging:
            report = write_dataset(rows, staging, configs=configs, num_proc=num_proc, skip_bad=skip_bad,
                                   max_seconds=max_seconds or None)
    except BadRowError as error:
        template = str(error).replace("{", "{{").replace("}", "}}") + " ({option} skips such rows)"
        raise option_error(CorpusLayoutError, template, "skip_bad=True", "--skip-bad") from error
    report = dataclasses.replace(report, out_dir=Path(out))
    if push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint, token=token)
        api.create_repo(push_to_hub, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=push_to_hub, repo_type="dataset",
                          commit_message=f"Add {corpus} prepared with c2ser-hf")
    return report
