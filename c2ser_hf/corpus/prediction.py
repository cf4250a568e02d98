"""`predict_dataset`: C2SER's emotion (and answer) for every clip of a dataset, one JSON line per clip in
`OUT/predictions.jsonl`; resumable after a kill and data-parallel under torchrun / accelerate launch
(`sharded.py`), from a dataset read whole or streamed (`dataset_input.py`)."""

import contextlib
import os
from pathlib import Path

from ..batch_sizes import c2ser_batch_size, padding_budget, plan_batches
from ..dataset_io import audio_header
from ..inference import SAMPLE_RATE, run_inference
from ..output_folder import check_results_folder, results_folder
from ..predict import summarise
from . import sharded
from .dataset_input import language_of, load_corpus, open_stream, run_decoded, stream_clips
from .ranks import Ranks

# a streamed share is read this many batches' worth of clips at a time, and batched by length within them
STREAM_BUFFER_BATCHES = 16
# answer languages of the scores: both (None), one, or each clip's own (its dataset's `language` column)
ANSWER_LANGUAGES = (None, "en", "zh", "dataset")


def predict_dataset(
    model,
    processor,
    dataset,
    out,
    *,
    config: str | None = None,
    split: str | None = None,
    mode: str | None = "implicit",
    scores: bool = False,
    batch_size: int | str = 8,
    answer_language: str | None = None,
    streaming: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    **generate_kwargs,
) -> dict | None:
    """Run C2SER (`run_inference`: `mode` None generates nothing, `scores` adds the seven probabilities) on every clip
    of `split` of `dataset` (a `prepare-data` or `save_to_disk` folder, or a Hub id; `split` may be omitted when the
    dataset has one) and append one record per clip to `out/predictions.jsonl`: its `id` and what `predict` gives
    (`emotion`, `text`, `scores`, `segments`), or its `error`. A rerun resumes; `overwrite` starts again.

    Whole (default): clip durations are read from the audio headers first and the batch plan depends on the dataset
    alone, so any process count gives the same records. `streaming`: rows are read as they come (row k to rank k mod
    world) and batched by length within a buffer; records then equal those of a whole run up to floating-point
    rounding. `answer_language`: "en", "zh", or "dataset" (each clip's `language` column). `batch_size`: windows per
    batch, or "auto" (`c2ser_hf/batch_sizes.py`; under several processes the smallest of the ranks' choices).
    Returns on rank 0 `{"predictions", "clips", "failed", "predicted_now", "processes"}`; None on the other ranks.
    """
    if mode is None and not scores:
        raise ValueError("nothing to do: give a mode to generate with, or scores=True")
    if answer_language not in ANSWER_LANGUAGES:
        raise ValueError(f"answer_language must be one of {ANSWER_LANGUAGES}, got {answer_language!r}")
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    ranks, out = Ranks(), Path(out)
    check_results_folder(out, [dataset, model.name_or_path])  # before any data is read
    if streaming:
        stream, split = open_stream(dataset, config, split)
    else:
        corpus = ranks.rank0_first(lambda: load_corpus(dataset, config, split))
        split = corpus.split
    run = {"model": model.name_or_path, "revision": getattr(model.config, "_commit_hash", None), "mode": mode,
           "scores": scores, "generate_kwargs": generate_kwargs if mode is not None else None,
           "answer_language": answer_language, "encoder_precision": model.model.encoder_precision,
           "dataset": os.fspath(dataset), "config": config, "split": split}
    writer = contextlib.nullcontext(out) if ranks.rank else results_folder(
        out, {"command": "predict --dataset"}, sharded.written_files(ranks.world), overwrite,
        [dataset, model.name_or_path])
    with writer:
        done = sharded.start(out, run, overwrite, ranks)

        def auto(longest_samples: int) -> int:
            return ranks.smallest(c2ser_batch_size(model, processor, longest_samples,
                                                   generate_kwargs if mode is not None else None, scores))

        budget = padding_budget(model.device)
        if streaming:
            size = auto(processor.max_samples) if batch_size == "auto" else batch_size
            batches, total = _stream_batches(stream_clips(stream, ranks, done), size, budget), None
        else:
            longest = int(max(corpus.durations, default=0.0) * SAMPLE_RATE)
            size = auto(longest) if batch_size == "auto" else batch_size
            plan = sharded.my_batches(corpus.batches(size, budget), corpus.ids, done, ranks)
            batches = (corpus.clips(batch) for batch in plan)
            total = sum(corpus.ids[i] not in done for batch in plan for i in batch)

        def work(clips):
            return _records(model, processor, clips, mode, scores, answer_language, generate_kwargs)

        sharded.run_share(out, batches, work, done, ranks, total=total,
                          desc=f"predict {Path(os.fspath(dataset)).name}", progress=progress, name=os.fspath(dataset))
        records = sharded.finish(out, ranks)
    ranks.close()
    if records is None:
        return None
    return {"predictions": str(out / sharded.PREDICTIONS), "clips": len(records),
            "failed": sum("error" in record for record in records), "predicted_now": len(records) - len(done),
            "processes": ranks.world}


def _records(model, processor, clips, mode, scores, answer_language, generate_kwargs) -> list[dict]:
    def run(waveforms, rate, decoded):
        languages = [language_of(c.language) for c in decoded] if answer_language == "dataset" else answer_language
        results = run_inference(model, processor, waveforms, mode=mode, scores=scores,
                                batch_size=max(len(waveforms), 1), sampling_rate=rate, answer_language=languages,
                                names=[f"row {c.row} (id {c.id!r})" for c in decoded], **generate_kwargs)
        return [summarise(result) for result in results]

    records = []
    for clip, result in zip(clips, run_decoded(clips, run)):
        result.pop("file", None)
        records.append({"id": clip.id, **result})
    return records


def _stream_batches(clips, batch_size: int, max_padding: float):
    """Batches of similar length from a stream of clips, planned within buffers of `STREAM_BUFFER_BATCHES`
    batches' worth of clips (a clip whose header cannot be read counts as empty; its error comes when decoded)."""
    buffer = []
    for clip in clips:
        buffer.append(clip)
        if len(buffer) == batch_size * STREAM_BUFFER_BATCHES:
            yield from _plan(buffer, batch_size, max_padding)
            buffer = []
    yield from _plan(buffer, batch_size, max_padding)


def _plan(clips, batch_size: int, max_padding: float):
    headers = [audio_header(clip.load(), clip.feature) for clip in clips]
    durations = [getattr(header, "duration_seconds_from_header", None) or 0.0 for header in headers]
    for batch in plan_batches(durations, batch_size, max_padding):
        yield [clips[k] for k in batch]
