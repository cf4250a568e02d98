"""The one inference path of C2SER: decode → ≤ 30 s windows → processor → scores and/or generation → labels.

`predict`, the `speech-emotion-recognition` pipeline, evaluation and the Space call `run_inference`, so a fix lands in
all of them. Audio longer than the model's 30 s is split into equal windows (docs/fidelity.md#windows); windows of
all inputs are batched together, longest first, with the padding budget of the model's device (`batch_sizes.py`).
"""

import os

import torch
from transformers import DynamicCache

from .batch_sizes import c2ser_batch_size, padding_budget, plan_batches
from .processing import EMOTIONS
from .processing.audio_input import AudioInputError, split_windows
from .processing.emotion_scoring import ANSWER_LANGUAGES

SAMPLE_RATE = 16000


def _name(item, index: int) -> str:
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"audio[{index}]"


@torch.no_grad()
def run_inference(
    model,
    processor,
    audio: list,
    *,
    mode: str | None = "implicit",
    scores: bool = False,
    batch_size: int | str = 8,
    sampling_rate: int | None = None,
    names: list[str] | None = None,
    answer_language: str | list | None = None,
    scoring_prompt: str = "implicit",
    **generate_kwargs,
) -> list[dict]:
    """Run C2SER on each input, window by window.

    Args:
        model, processor: a `C2SERForConditionalGeneration` (on its device, in eval mode) and its `C2SERProcessor`.
        audio: the inputs: file paths, or waveforms (arrays, tensors, lists of samples) at `sampling_rate`.
        mode: the prompt to generate an answer with: `"implicit"`, `"explicit"` (chain of thought) or a prompt of
            your own; `None` generates nothing.
        scores: also give each window the seven emotion probabilities, from the likelihood of the implicit answers
            (`emotion_probabilities`).
        batch_size: windows per model call, or `"auto"`: 8 on a CPU, on a GPU as many as its free memory holds
            (`c2ser_hf/batch_sizes.py`). A batch that runs out of device memory is split in halves and retried.
        sampling_rate: rate of waveform inputs; `None` means 16 kHz. Files are decoded at their own rate.
        names: how results and errors name the inputs (default: a file's path, `audio[i]` for a waveform).
        answer_language: `"en"` or `"zh"` when the answers are known to be in that language (they follow the
            audio's): scores then weigh that language's answers only, at about half the cost; a list gives one per
            input (None: both). Default: the processor's `answer_language` (docs/fidelity.md#emotion-scores).
        scoring_prompt: the prompt the scores are conditioned on: the implicit one, or a paraphrase of it (the
            stability evaluation asks whether the scores move with the wording).
        generate_kwargs: passed to `model.generate` (e.g. `max_new_tokens`, `num_beams`).

    Returns:
        One dict per input, in input order: `{"file": name, "windows": [...]}`, each window
        `{"start", "end"}` in seconds plus `"text"` (the decoded answer) and `"emotion"` (its parsed label, or None)
        when generating, `"scores"` (`{emotion: probability}`) when scoring, and then `"emotion"` is their argmax.
        An input that cannot be used gives `{"file": name, "error": message}`; the others still run.
    """
    if mode is None and not scores:
        raise ValueError("nothing to do: give a mode to generate with, or scores=True")
    if batch_size != "auto" and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    names = names or [_name(item, index) for index, item in enumerate(audio)]
    if len(names) != len(audio):
        raise ValueError(f"names: {len(names)} names for {len(audio)} inputs")
    languages = _languages(answer_language, len(audio))
    results, windows = [], []
    for index, (item, name) in enumerate(zip(audio, names)):
        try:
            # two waveforms where the processor reproduces the released front end (docs/fidelity.md#resampling):
            # windows cut both at the same bounds
            waveform, whisper_waveform = processor.waveforms(item, sampling_rate, name=name)
        except AudioInputError as error:
            results.append({"file": name, "error": str(error)})
            continue
        results.append({"file": name, "windows": []})
        for start, end in split_windows(waveform, processor.max_samples):
            windows.append((index, start, end, waveform[start:end], whisper_waveform[start:end]))
    if batch_size == "auto":
        longest = max((len(w[3]) for w in windows), default=processor.max_samples)
        batch_size = c2ser_batch_size(model, processor, longest, generate_kwargs if mode is not None else None, scores)

    pending = _plan(windows, languages if scores else None, batch_size, padding_budget(model.device))
    while pending:
        indices = pending.pop(0)
        batch = [windows[k] for k in indices]
        try:
            found = _run_batch(model, processor, batch, mode, scores, languages[batch[0][0]], scoring_prompt,
                               generate_kwargs)
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise
            # out of device memory: this batch in halves, and no later batch bigger than a half
            half = len(batch) // 2
            pending = [plan[i : i + half] for plan in [indices, *pending] for i in range(0, len(plan), half)]
            torch.cuda.empty_cache()
            continue
        for (index, *_), window in zip(batch, found):
            results[index]["windows"].append(window)
    for result in results:
        result.get("windows", []).sort(key=lambda window: window["start"])
    return results


def _languages(answer_language, count: int) -> list:
    languages = answer_language if isinstance(answer_language, (list, tuple)) else [answer_language] * count
    if len(languages) != count:
        raise ValueError(f"answer_language: {len(languages)} languages for {count} inputs")
    for language in languages:
        if language not in ANSWER_LANGUAGES:
            raise ValueError(f"answer_language: {language!r} is not one of {ANSWER_LANGUAGES}")
    return list(languages)


def _plan(windows: list, languages: list | None, batch_size: int, max_padding: float) -> list[list[int]]:
    """Window indices in batches of similar length (and, when scoring, one answer language per batch)."""
    groups = {}
    for k, (index, *_) in enumerate(windows):
        groups.setdefault(languages[index] if languages else None, []).append(k)
    plan = []
    for members in groups.values():
        lengths = [len(windows[k][3]) for k in members]
        plan += [[members[i] for i in batch] for batch in plan_batches(lengths, batch_size, max_padding)]
    return plan


def _run_batch(model, processor, batch: list, mode, scores: bool, language, scoring_prompt: str,
               generate_kwargs: dict) -> list[dict]:
    # each window's audio features once, for the answer and the scores alike; on an accelerator the log-mel is
    # computed there, for the whole batch (the same numbers: processing/log_mel.py)
    device = None if model.device.type == "cpu" else model.device
    features = processor.audio_features([w[3] for w in batch], [w[4] for w in batch], device)

    # the speech blocks (encoders, link, projection) once per batch: they do not depend on the prompt, so the scores'
    # prompt and the answer's, equal or not, share them (docs/fidelity.md#transformers-conventions)
    speech = model.get_audio_features(**features)

    def prompted(prompt) -> dict:
        return {**processor.text_inputs(prompt, features).to(model.device), **speech}

    found = [{"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE} for _, start, end, *_ in batch]
    # an answer to the scoring prompt goes on from the scores' prefill: the prompt, too, runs once for both
    shared = {"cache": DynamicCache(config=model.config.text_config)} if scores and mode == scoring_prompt else {}
    answers, probabilities = [], []
    if scores:
        implicit = prompted(scoring_prompt)
        candidates = processor.emotion_candidates(language)
        probabilities = processor.label_scores(
            model.emotion_probabilities(*candidates, **implicit, **shared).float().cpu()
        )
    if mode is not None:
        inputs = implicit if shared else prompted(mode)
        answers = processor.post_process(model.generate(**inputs, **shared, **generate_kwargs))
    for window, answer in zip(found, answers):
        window.update(answer)
    for window, item_scores in zip(found, probabilities):
        window.update(scores=item_scores, emotion=max(item_scores, key=item_scores.get))
    return found


def mean_scores(windows: list[dict]) -> dict[str, float]:
    """The seven probabilities of a whole input: the mean over its windows' `scores`."""
    return {emotion: sum(w["scores"][emotion] for w in windows) / len(windows) for emotion in EMOTIONS}


__all__ = ["mean_scores", "run_inference"]
