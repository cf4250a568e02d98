"""The `speech-emotion-recognition` pipeline: `[{"label", "score"}]` for the seven emotions, plus an explanation."""

from transformers import Pipeline

from .inference import mean_scores, run_inference
from .processing.audio_input import AudioInputError


class SpeechEmotionRecognitionPipeline(Pipeline):
    """
    `pipeline("speech-emotion-recognition", model=...)(audio, top_k=None, explain=False)`

    `audio`: a file path, an array, or a dict `{"array" | "raw": samples, "sampling_rate": rate}` (the `datasets`
    Audio form). A bare array is taken as 16 kHz: pass the dict form for audio at any other rate. Returns the seven emotions with probabilities, best first (`top_k` keeps the best k).
    With `explain=True` it returns `{"scores": [...], "explanation": text}`, the text being the model's explicit
    chain-of-thought answer. Audio over 30 s is scored in equal windows whose probabilities are averaged. The work is
    `c2ser_hf.inference.run_inference`'s, as for `predict`.
    """

    _load_processor = True
    _load_tokenizer = False
    _load_feature_extractor = False
    _pipeline_calls_generate = True

    def _sanitize_parameters(self, top_k=None, explain=None, **generate_kwargs):
        preprocess = {"explain": bool(explain)} if explain is not None else {}
        postprocess = {"top_k": top_k} if top_k is not None else {}
        return preprocess, {"generate_kwargs": generate_kwargs}, postprocess

    def preprocess(self, audio, explain=False):
        sampling_rate = None
        if isinstance(audio, dict):
            sampling_rate = audio.get("sampling_rate")
            audio = audio["array"] if "array" in audio else audio["raw"]
        return {"audio": audio, "sampling_rate": sampling_rate, "explain": explain}

    def _forward(self, model_inputs, generate_kwargs=None):
        (result,) = run_inference(
            self.model, self.processor, [model_inputs["audio"]], mode="explicit" if model_inputs["explain"] else None,
            scores=True, sampling_rate=model_inputs["sampling_rate"], names=["audio"], **(generate_kwargs or {}),
        )
        if "error" in result:
            raise AudioInputError(result["error"])
        return result

    def postprocess(self, model_outputs, top_k=None):
        windows = model_outputs["windows"]
        scores = mean_scores(windows)
        ranked = [{"label": label, "score": score} for label, score in sorted(scores.items(), key=lambda x: -x[1])]
        ranked = ranked[:top_k] if top_k else ranked
        if "text" not in windows[0]:
            return ranked
        return {"scores": ranked, "explanation": " ".join(window["text"] for window in windows)}


__all__ = ["SpeechEmotionRecognitionPipeline"]
