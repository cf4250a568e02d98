"""The `speech-emotion-recognition` pipeline: `[{"label", "score"}]` for the seven emotions, plus an explanation."""

from transformers import Pipeline

from .processing.audio_input import split_windows, to_mono_16k


class SpeechEmotionRecognitionPipeline(Pipeline):
    """
    `pipeline("speech-emotion-recognition", model=...)(audio, top_k=None, explain=False)`

    `audio`: a file path, an array, or a dict `{"array" | "raw": samples, "sampling_rate": rate}` (the `datasets`
    Audio form). A bare array is taken as 16 kHz: pass the dict form for audio at any other rate. Returns the seven emotions with probabilities, best first (`top_k` keeps the best k).
    With `explain=True` it returns `{"scores": [...], "explanation": text}`, the text being the model's explicit
    chain-of-thought answer. Audio over 30 s is scored in equal windows whose probabilities are averaged.
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
        waveform = to_mono_16k(audio, sampling_rate, name="audio", min_samples=self.processor.min_samples)
        windows = [waveform[a:b] for a, b in split_windows(waveform, self.processor.max_samples)]
        inputs = {"implicit": self.processor(windows, mode="implicit")}
        if explain:
            inputs["explicit"] = self.processor(windows, mode="explicit")
        return inputs

    def _forward(self, model_inputs, generate_kwargs=None):
        probabilities = self.model.emotion_probabilities(
            *self.processor.emotion_candidates(), **model_inputs["implicit"]
        )
        outputs = {"probabilities": probabilities.mean(0)}
        if "explicit" in model_inputs:
            outputs["generated"] = self.model.generate(**model_inputs["explicit"], **(generate_kwargs or {}))
        return outputs

    def postprocess(self, model_outputs, top_k=None):
        scores = self.processor.label_scores(model_outputs["probabilities"][None].float().cpu())[0]
        ranked = [{"label": label, "score": score} for label, score in sorted(scores.items(), key=lambda x: -x[1])]
        ranked = ranked[:top_k] if top_k else ranked
        if "generated" not in model_outputs:
            return ranked
        texts = [r["text"] for r in self.processor.post_process(model_outputs["generated"])]
        return {"scores": ranked, "explanation": " ".join(texts)}


__all__ = ["SpeechEmotionRecognitionPipeline"]
