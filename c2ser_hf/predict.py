"""Emotion predictions for many audio inputs: per-input errors, ≤ 30 s windows, length-sorted batches.

One result dict per input, in input order: `file`, `emotion`, `text`, `scores` (when asked) and `segments` (audio
longer than the model's 30 s limit, split into equal windows), or `file` and `error` for an input that cannot be used.
"""

import os
from collections import Counter

import torch

from .processing import EMOTIONS
from .processing.audio_input import AudioInputError, split_windows

SAMPLE_RATE = 16000


def _name(item, index: int) -> str:
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"audio[{index}]"


@torch.no_grad()
def predict(
    model,
    processor,
    audio: list,
    mode: str = "implicit",
    scores: bool = False,
    batch_size: int = 8,
    sampling_rate: int | None = None,
    **generate_kwargs,
) -> list[dict]:
    """Run C2SER on each input. With `scores`, each window also gets the seven emotion probabilities (from the
    likelihood of the implicit answers) and `emotion` is their argmax, a fixed label; without, `emotion` is parsed
    from the generated text (None when the text names none). Long audio: `scores` and `emotion` of the whole are the
    mean of the window scores (or the most frequent window emotion without scores)."""
    results, windows = [None] * len(audio), []
    for index, item in enumerate(audio):
        name = _name(item, index)
        try:
            waveform, whisper_waveform = processor.waveforms(item, sampling_rate, name=name)
        except AudioInputError as error:
            results[index] = {"file": name, "error": str(error)}
            continue
        results[index] = {"file": name, "windows": []}
        for start, end in split_windows(waveform, processor.max_samples):
            windows.append((index, start, end, waveform[start:end], whisper_waveform[start:end]))

    order = sorted(range(len(windows)), key=lambda k: -len(windows[k][3]))
    candidates = processor.emotion_candidates() if scores else None
    for first in range(0, len(order), batch_size):
        batch = [windows[k] for k in order[first : first + batch_size]]
        waves, whisper_waves = [w[3] for w in batch], [w[4] for w in batch]
        inputs = processor(waves, mode=mode, whisper_audio=whisper_waves).to(model.device)
        texts = processor.post_process(model.generate(**inputs, **generate_kwargs))
        probabilities = None
        if scores:
            implicit = inputs if mode == "implicit" else processor(
                waves, mode="implicit", whisper_audio=whisper_waves
            ).to(model.device)
            probabilities = processor.label_scores(model.emotion_probabilities(*candidates, **implicit))
        for row, (index, start, end, *_) in enumerate(batch):
            window = {"start": start / SAMPLE_RATE, "end": end / SAMPLE_RATE, **texts[row]}
            if probabilities is not None:
                window["scores"] = probabilities[row]
                window["emotion"] = max(probabilities[row], key=probabilities[row].get)
            results[index]["windows"].append(window)
    return [_summarise(result) for result in results]


def _summarise(result: dict) -> dict:
    if "error" in result:
        return result
    windows = sorted(result.pop("windows"), key=lambda w: w["start"])
    summary = {"file": result["file"], "text": " ".join(w["text"] for w in windows)}
    if "scores" in windows[0]:
        mean = {e: sum(w["scores"][e] for w in windows) / len(windows) for e in EMOTIONS}
        summary["emotion"], summary["scores"] = max(mean, key=mean.get), mean
    else:
        named = Counter(w["emotion"] for w in windows if w["emotion"] is not None)
        summary["emotion"] = named.most_common(1)[0][0] if named else None
    if len(windows) > 1:
        summary["segments"] = windows
    return summary
