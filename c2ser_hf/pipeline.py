"""The `speech-emotion-recognition` pipeline: `[{"label", "score"}]` for the seven emotions, plus an explanation.

Built as transformers' pipelines are: `preprocess` decodes the audio, cuts it into ≤ 30 s windows and runs the
processor on each (in a DataLoader worker when asked), a collate function pads windows into batches (`batch_size`),
`_forward` scores a batch (and generates its explanations), `postprocess` averages each input's windows and ranks the
labels.
"""

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader
from transformers.pipelines.base import ChunkPipeline
from transformers.pipelines.pt_utils import PipelineChunkIterator, PipelineIterator, PipelinePackIterator

from .inference import mean_scores
from .processing.audio_input import split_windows

# the processor's audio outputs, in `get_audio_features`' order, and the outputs that are left-padded (the text; the
# rest is right-padded)
AUDIO_INPUTS = ("input_features", "feature_attention_mask", "input_values", "input_values_mask")
LEFT_PADDED = ("input_ids", "attention_mask", "explicit_input_ids", "explicit_attention_mask")


class SpeechEmotionRecognitionPipeline(ChunkPipeline):
    """
    `pipeline("speech-emotion-recognition", model=...)(audio, top_k=None, explain=False)`

    `audio`: a file path, an array, or a dict `{"array" | "raw": samples, "sampling_rate": rate}` (the `datasets`
    Audio form). A bare array is taken as 16 kHz: pass the dict form for audio at any other rate. Returns the seven
    emotions with probabilities, best first (`top_k` keeps the best k). With `explain=True` it returns
    `{"scores": [...], "explanation": text}`, the text being the model's explicit chain-of-thought answer. Audio over
    30 s is scored in equal windows whose probabilities are averaged. `batch_size` batches windows, of one input or
    of several; the results equal those of `batch_size=1` (and of `c2ser_hf.inference.run_inference`).
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
        waveform, whisper_waveform = self.processor.waveforms(audio, sampling_rate, name="audio")
        windows = split_windows(waveform, self.processor.max_samples)
        for index, (start, end) in enumerate(windows):
            # the window's audio features once, for the scores' prompt and the explanation's alike
            features = self.processor.audio_features([waveform[start:end]], [whisper_waveform[start:end]])
            item = {**self.processor.text_inputs("implicit", features), **features}
            if explain:
                explicit = self.processor.text_inputs("explicit", features)
                item["explicit_input_ids"] = explicit["input_ids"]
                item["explicit_attention_mask"] = explicit["attention_mask"]
            # a tensor of one row, as the model inputs: a batch of windows is then rows throughout
            yield {**item, "is_last": torch.tensor([index == len(windows) - 1])}

    def _collate(self, items: list[dict]) -> dict:
        """Windows → one batch: the text left-padded (the pad token, mask 0), features and waveforms right-padded
        with zeros (mask 0), as the processor pads a batch."""
        batch = {}
        for key in items[0]:
            values = [item[key] for item in items]
            width = max(value.shape[-1] for value in values)
            fill = self.processor.tokenizer.pad_token_id if key.endswith("input_ids") else 0
            sides = [(width - value.shape[-1], 0) if key in LEFT_PADDED else (0, width - value.shape[-1])
                     for value in values]
            batch[key] = torch.cat([F.pad(value, side, value=fill) for value, side in zip(values, sides)])
        return batch

    def get_iterator(self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params):
        # ChunkPipeline's, with this pipeline's collate function: transformers' own pads every tensor on its second
        # axis, and C2SER's log-mel has its frames on the third. One worker at most, as ChunkPipeline: the windows
        # come from one iterable, which more workers would each read whole.
        windows = PipelineChunkIterator(inputs, self.preprocess, preprocess_params)
        loader = DataLoader(windows, num_workers=min(num_workers, 1), batch_size=batch_size, collate_fn=self._collate)
        results = PipelinePackIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(results, self.postprocess, postprocess_params)

    def _forward(self, batch, generate_kwargs=None):
        # the speech blocks once, for the scores and the explanation (docs/fidelity.md#transformers-conventions)
        speech = self.model.get_audio_features(*(batch[key] for key in AUDIO_INPUTS))
        outputs = {"is_last": batch["is_last"]}
        outputs["probabilities"] = self.model.emotion_probabilities(
            *self.processor.emotion_candidates(), input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
            **speech
        )
        if "explicit_input_ids" in batch:
            outputs["sequences"] = self.model.generate(
                input_ids=batch["explicit_input_ids"], attention_mask=batch["explicit_attention_mask"], **speech,
                **(generate_kwargs or {})
            )
        return outputs

    def postprocess(self, windows, top_k=None):
        scored = [{"scores": self.processor.label_scores(window["probabilities"].float().cpu())[0]}
                  for window in windows]
        scores = mean_scores(scored)
        ranked = [{"label": label, "score": score} for label, score in sorted(scores.items(), key=lambda x: -x[1])]
        ranked = ranked[:top_k] if top_k else ranked
        if "sequences" not in windows[0]:
            return ranked
        texts = [self.processor.post_process(window["sequences"])[0]["text"] for window in windows]
        return {"scores": ranked, "explanation": " ".join(texts)}


__all__ = ["SpeechEmotionRecognitionPipeline"]
