"""The one inference path of C2SER: decode → ≤ 30 s windows → processor → scores and/or generation → labels.

`predict`, the `speech-emotion-recognition` pipeline, evaluation and the Space call `run_inference`, so a fix lands in
all of them. Audio longer than the model's 30 s is split into equal windows (docs/fidelity.md#windows); windows of
all inputs are batched together, longest first, so that each batch pads little.
"""

import os

import torch

from .processing import EMOTIONS
from .processing.audio_input import AudioInputError, split_windows, to_mono_16k

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
    batch_size: int = 8,
    sampling_rate: int | None = None,
    names: list[str] | None = None,
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
        batch_size: windows per model call.
        sampling_rate: rate of waveform inputs; `None` means 16 kHz. Files are decoded at their own rate.
        names: how results and errors name the inputs (default: a file's path, `audio[i]` for a waveform).
        generate_kwargs: passed to `model.generate` (e.g. `max_new_tokens`, `num_beams`).

    Returns:
        One dict per input, in input order: `{"file": name, "windows": [...]}`, each window
        `{"start", "end"}` in seconds plus `"text"` (the decoded answer) and `"emotion"` (its parsed label, or None)
        when generating, `"scores"` (`{emotion: probability}`) when scoring, and then `"emotion"` is their argmax.
        An input that cannot be used gives `{"file": name, "error": message}`; the others still run.
    """
    if mode is None and not scores:
        raise ValueError("nothing to do: give a mode to generate with, or scores=True")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    names = names or [_name(item, index) for index, item in enumerate(audio)]
    if len(names) != len(audio):
        raise ValueError(f"names: {len(names)} names for {len(audio)} inputs")
    results, windows = [], []
    for index, (item, name) in enumerate(zip(audio, names)):
        try:
            waveform = to_mono_16k(item, sampling_rate, name=name, min_samples=processor.min_samples)
        except AudioInputError as error:
            results.append({"file": name, "error": str(error)})
            continue
        results.append({"file": name, "windows": []})
        for start, end in split_windows(waveform, processor.max_samples):
            windows.append((index, start, end, waveform[start:end]))

    order = sorted(range(len(windows)), key=lambda k: -len(windows[k][3]))
    candidates = processor.emotion_candidates() if scores else None
    for first in range(0, len(order), batch_size):
        batch = [windows[k] for k in order[first : first + batch_size]]
        waves = [w[3] for w in batch]
        found = [{"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE} for _, start, end, _ in batch]
        if mode is not None:
            inputs = processor(waves, mode=mode).to(model.device)
            for window, answer in zip(found, processor.post_process(model.generate(**inputs, **generate_kwargs))):
                window.update(answer)
        if scores:
            implicit = inputs if mode == "implicit" else processor(waves, mode="implicit").to(model.device)
            probabilities = processor.label_scores(model.emotion_probabilities(*candidates, **implicit).float().cpu())
            for window, item_scores in zip(found, probabilities):
                window.update(scores=item_scores, emotion=max(item_scores, key=item_scores.get))
        for (index, *_), window in zip(batch, found):
            results[index]["windows"].append(window)
    for result in results:
        result.get("windows", []).sort(key=lambda window: window["start"])
    return results


def mean_scores(windows: list[dict]) -> dict[str, float]:
    """The seven probabilities of a whole input: the mean over its windows' `scores`."""
    return {emotion: sum(w["scores"][emotion] for w in windows) / len(windows) for emotion in EMOTIONS}


__all__ = ["mean_scores", "run_inference"]
