"""The models an evaluation scores, behind one call `runner(waveforms, sampling_rate) -> one result per clip`:
C2SER (its emotion probabilities, or a generated answer that is parsed) and any audio classifier whose labels map to
the seven emotions (e.g. emotion2vec+ converted by `convert emotion2vec --labels …`)."""

import json
import os

import numpy as np
import torch

from ..batch_sizes import acoustic_bytes, auto_batch_size, c2ser_batch_size, free_device_bytes
from ..inference import SAMPLE_RATE, run_inference
from ..modeling.emotion2vec_s_frames import receptive_field_samples
from ..option_error import option_error
from ..predict import summarise
from ..processing import EMOTIONS, normalize_emotion
from ..processing.audio_input import AudioInputError, to_mono_16k
from .decoding import MODES, decoding_kwargs

EVALUATED = "evaluate needs a C2SER model or an audio-classification model"


def check_model(value: str, cache_dir=None):
    """Check a model value before anything is loaded (one-line `ModelInputError` naming it): its resolved folder or
    Hub id and config, or None for "official"."""
    if value == "official":
        return None
    from transformers.models.auto.modeling_auto import MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES

    from ..model_loading import MODEL_KINDS, ModelInputError, resolve_model

    resolved = resolve_model(value, ("c2ser", "emotion2vec_s", *MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES),
                             EVALUATED, cache_dir)
    model_type = resolved.config["model_type"]
    if model_type != "c2ser" and not any(_is_classifier(a) for a in resolved.config.get("architectures") or []):
        kind = MODEL_KINDS.get(model_type, f"a {model_type!r} model")
        raise ModelInputError(f"{value}: is {kind}; {EVALUATED} (it has no classification head)")
    return resolved


def load_runner(value: str, resolved, mode: str = "scores", decoding: str = "official",
                max_new_tokens: int | None = None, label_map: dict | None = None, device: str = "cpu",
                dtype="float32", cache_dir=None, model_options: dict | None = None):
    """A runner for the model `value` that `check_model` resolved: a C2SER folder or Hub id or "official" (the
    released C2SER, converted once), or an audio-classification model."""
    from ..model_loading import ModelInputError, load_c2ser

    if resolved is None or resolved.config["model_type"] == "c2ser":
        model, processor = load_c2ser(value, dtype=dtype, device=device, cache_dir=cache_dir, command="evaluate",
                                      **(model_options or {}))
        return runner_for(model, processor, mode, decoding, max_new_tokens, label_map)
    import torch
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    import c2ser_hf  # noqa: F401  (registers Emotion2Vec-S with the Auto classes)

    hub = resolved.hub_kwargs(cache_dir, None, None)
    try:
        model = AutoModelForAudioClassification.from_pretrained(
            resolved.target, dtype=getattr(torch, dtype) if isinstance(dtype, str) else dtype, **hub)
        extractor = AutoFeatureExtractor.from_pretrained(resolved.target, **hub)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise ModelInputError(f"{value}: cannot be loaded: {' '.join(str(error).split())[:300]}") from None
    return runner_for(model.to(device), extractor, mode, decoding, max_new_tokens, label_map)


def runner_for(model, processor, mode: str = "scores", decoding: str = "official", max_new_tokens: int | None = None,
               label_map: dict | None = None):
    """A runner for a loaded model: C2SER with its processor (run in `mode`), or an audio classifier with its feature
    extractor (mode and decoding do not apply)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if model.config.model_type == "c2ser":
        return C2SERRunner(model.eval(), processor, mode, decoding_kwargs(decoding, max_new_tokens))
    if _is_classifier(type(model).__name__):
        return ClassifierRunner(model.eval(), processor, label_map or {})
    raise ValueError(f"a {model.config.model_type!r} model is not a classifier: evaluate needs a C2SER model or an "
                     "audio-classification model")


def _is_classifier(class_name: str) -> bool:
    # every config has a default id2label: the architecture, not the labels, tells a classifier
    return class_name.endswith(("ForAudioClassification", "ForSequenceClassification"))


def model_revision(model) -> str | None:
    """The Hub commit a model was loaded from (None for a local folder)."""
    return getattr(model.config, "_commit_hash", None)


class C2SERRunner:
    def __init__(self, model, processor, mode: str, generate_kwargs: dict):
        self.model, self.processor, self.mode, self.generate_kwargs = model, processor, mode, generate_kwargs

    @property
    def settings(self) -> dict:
        generating = self.mode != "scores"
        generation = {**self.model.generation_config.to_diff_dict(), **self.generate_kwargs} if generating else None
        return {"kind": "c2ser", "mode": self.mode, "generate_kwargs": generation}

    @torch.no_grad()
    def __call__(self, waveforms: list, sampling_rate: int | None, answer_language=None, prompt: str | None = None,
                 generate_kwargs: dict | None = None) -> list[dict]:
        """One result per clip; long clips are windowed and their scores averaged. `answer_language` ("en", "zh", a
        list of one per clip, or None) restricts the emotion scores to that language's answers. `prompt` replaces the
        mode's prompt (the scores are then conditioned on it) and `generate_kwargs` update the run's own, as the
        stability evaluation's variants do."""
        scores = self.mode == "scores"
        kwargs = {} if scores else {**self.generate_kwargs, **(generate_kwargs or {})}
        results = run_inference(self.model, self.processor, waveforms, mode=None if scores else prompt or self.mode,
                                scores=scores, batch_size=max(len(waveforms), 1), sampling_rate=sampling_rate,
                                answer_language=answer_language, scoring_prompt=prompt or "implicit", **kwargs)
        return [_result(result, scores) for result in results]

    def auto_batch_size(self, longest_seconds: float) -> int:
        scores = self.mode == "scores"
        return c2ser_batch_size(self.model, self.processor, int(longest_seconds * SAMPLE_RATE),
                                None if scores else self.generate_kwargs, scores)


def _result(result: dict, scores: bool) -> dict:
    if "error" in result:
        return {"error": result["error"]}
    summary = summarise(result)
    if scores:  # long clips: the mean over windows
        return _scored(torch.tensor([summary["scores"][e] for e in EMOTIONS], dtype=torch.float64))
    return {"prediction": summary["emotion"], "text": summary["text"]}


class ClassifierRunner:
    """An `AutoModelForAudioClassification`: the probabilities of the labels that name one of the seven emotions,
    summed per emotion and renormalised (labels such as emotion2vec+'s "other" and "<unk>" are left out)."""

    def __init__(self, model, feature_extractor, label_map: dict):
        self.model, self.feature_extractor = model, feature_extractor
        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        self.columns = [emotion_of_label(label, label_map) for label in labels]
        if not any(c is not None for c in self.columns):
            raise option_error(ValueError, f"{model.name_or_path}: none of its labels {labels} names one of "
                               f"{', '.join(EMOTIONS)}; map them with {{option}}", "label_map=", "--label-map")
        self.labels = dict(zip(labels, (EMOTIONS[c] if c is not None else None for c in self.columns)))

    @property
    def settings(self) -> dict:
        return {"kind": "audio-classification", "labels": self.labels}

    def auto_batch_size(self, longest_seconds: float) -> int:
        """By memory for wav2vec2-like encoders (Emotion2Vec-S, emotion2vec+); others get the CPU's batch size."""
        config, free = self.model.config, free_device_bytes(self.model.device)
        if not hasattr(config, "conv_dim"):
            free = None
        samples = int(longest_seconds * self.feature_extractor.sampling_rate)
        return auto_batch_size(free, acoustic_bytes(config, samples) if free else 1)

    @torch.no_grad()
    def __call__(self, waveforms: list, sampling_rate: int | None, answer_language=None) -> list[dict]:
        rate = self.feature_extractor.sampling_rate
        results, samples, kept = [None] * len(waveforms), [], []
        for index, waveform in enumerate(waveforms):
            try:
                samples.append(to_mono_16k(waveform, sampling_rate, name=f"audio[{index}]", target_rate=rate,
                                           min_samples=receptive_field_samples(self.model.config)))
                kept.append(index)
            except AudioInputError as error:
                results[index] = {"error": str(error)}
        if samples:
            inputs = self.feature_extractor(samples, sampling_rate=rate, padding=True, return_tensors="pt",
                                            return_attention_mask=True).to(self.model.device)
            label_probabilities = self.model(**inputs).logits.float().softmax(-1).cpu()
            to_emotions = torch.zeros(len(self.columns), len(EMOTIONS))
            for label, column in enumerate(self.columns):
                if column is not None:
                    to_emotions[label, column] = 1.0
            emotions = label_probabilities @ to_emotions
            emotions = emotions / emotions.sum(-1, keepdim=True)
            for row, index in enumerate(kept):
                results[index] = _scored(emotions[row])
        return results


def emotion_of_label(label: str, label_map: dict) -> int | None:
    """The canonical emotion index of a classifier label: from `label_map` when it names the label (None there
    means "no emotion"), else from the wordings the answer parser knows, also in bilingual labels such as
    emotion2vec+'s "生气/angry"."""
    if label in label_map:
        mapped = label_map[label]
        return None if mapped is None else EMOTIONS.index(_canonical(mapped, f"the label map's value for {label!r}"))
    emotions = {normalize_emotion(part) for part in str(label).split("/")} - {None}
    return EMOTIONS.index(emotions.pop()) if len(emotions) == 1 else None


def read_label_map(path: str | os.PathLike | None) -> dict:
    """A JSON object {label: canonical emotion or null}; null excludes the label."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            mapping = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read a JSON label map ({error})") from None
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: a label map is a JSON object {{label: emotion or null}}")
    for label, emotion in mapping.items():
        if emotion is not None:
            _canonical(emotion, f"{path}: the value for {label!r}")
    return mapping


def _canonical(emotion, where: str) -> str:
    if emotion not in EMOTIONS:
        raise ValueError(f"{where} is {emotion!r}, not one of {', '.join(EMOTIONS)} or null")
    return emotion


def _scored(probabilities: torch.Tensor) -> dict:
    values = probabilities.double().numpy()
    return {"prediction": EMOTIONS[int(np.argmax(values))],
            "probabilities": dict(zip(EMOTIONS, (float(p) for p in values)))}
