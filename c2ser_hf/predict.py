"""Emotion predictions for many audio inputs: one summary per input of what `run_inference` found per window.

One result dict per input, in input order: `file`, `emotion`, `text`, `scores` (when asked) and `segments` (audio
longer than the model's 30 s limit, split into equal windows), or `file` and `error` for an input that cannot be used.
"""

from collections import Counter

from .inference import mean_scores, run_inference


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
    results = run_inference(model, processor, audio, mode=mode, scores=scores, batch_size=batch_size,
                            sampling_rate=sampling_rate, **generate_kwargs)
    return [_summarise(result) for result in results]


def _summarise(result: dict) -> dict:
    if "error" in result:
        return result
    windows = result["windows"]
    summary = {"file": result["file"], "text": " ".join(w["text"] for w in windows)}
    if "scores" in windows[0]:
        mean = mean_scores(windows)
        summary["emotion"], summary["scores"] = max(mean, key=mean.get), mean
    else:
        named = Counter(w["emotion"] for w in windows if w["emotion"] is not None)
        summary["emotion"] = named.most_common(1)[0][0] if named else None
    if len(windows) > 1:
        summary["segments"] = windows
    return summary

