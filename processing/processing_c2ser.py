"""C2SERProcessor: audio + prompt → C2SER inputs (placeholders expanded, left-padded); answers → text + emotion."""

from difflib import get_close_matches

import numpy as np
from transformers import BatchFeature, ProcessorMixin, WhisperFeatureExtractor

from .audio_input import AudioInputError, audio_items, to_mono_16k
from .emotion2vec_s_frames import samples_for_frames
from .emotion_parsing import EMOTIONS, parse_emotion
from .emotion_scoring import ANSWER_LANGUAGES, answer_candidates
from .feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor
from .log_mel import log_mel_batch
from .official_waveforms import official_speech_waveforms
from .speech_lengths import speech_block_lengths

# The only two prompts of the released model (docs/fidelity.md#prompts): stage 2 (implicit CoT) and stage 1 (explicit
# CoT).
PROMPTS = {
    "implicit": (
        "Please consider the speaking style, content, and directly provide the speaker's emotion in this speech."
    ),
    "explicit": "Please describe the speaking style, content, and the speaker's emotional state of this speech.",
}
# The released training ends every target with Qwen's <|endoftext|> (id 151643, docs/fidelity.md#prompts), whatever
# the tokenizer's own eos is (chat tokenizers say <|im_end|>).
END_OF_TEXT = "<|endoftext|>"
IGNORE_INDEX = -100


class C2SERProcessor(ProcessorMixin):
    r"""
    Builds C2SER's inputs from audio and a prompt, and turns generated answers into text and an emotion label.

    Per item the text is `prompt + <|speech|> × S (+ target + <|endoftext|>)` with no chat template and no BOS
    (docs/fidelity.md#sequence-layout), where S = 2 + `num_acoustic_tokens` + ceil(ceil(T_mel / 2) /
    `downsample_rate`) is the length of the speech block the model puts in place of the placeholders (the one formula
    of `speech_lengths.py`). Batches are left-padded by the tokenizer; log-mel and waveforms are right-padded, the
    waveforms by `Emotion2VecSFeatureExtractor`.

    Args:
        feature_extractor (`WhisperFeatureExtractor`, *optional*): 80-bin log-mel at 16 kHz, n_fft 400, hop 160
            (the default when omitted). It computes one item at a time, never on padded audio
            (docs/fidelity.md#front-end).
        tokenizer (Qwen2 tokenizer): the language model's tokenizer. The processor adds `speech_token` to it as a
            special token when absent, sets it to left padding (also in `init_kwargs`, so that it is saved), and pads
            with the end-of-text token when it has no pad token.
        speech_token (`str`): the placeholder of one speech position.
        num_acoustic_tokens (`int`): Emotion2Vec-S vectors in the speech block (10).
        downsample_rate (`int`): stride of the downsampler after the Whisper encoder (4).
        normalize_waveform (`bool`): layer-normalise each waveform over its real samples in `input_values`. Off for
            C2SER, whose Emotion2Vec-S gets the raw waveform (docs/fidelity.md#acoustic-tokens).
        max_mel_frames (`int`): longest accepted audio in mel frames; 3000 (30 s) fills Whisper's position table.
        official_whisper_waveform (`bool`): compute the log-mel from the waveform the released model's Whisper
            branch reads (resampled with `torchaudio.transforms.Resample`, then a 16-bit PCM round trip), while
            Emotion2Vec-S keeps the `torchaudio.functional.resample` waveform (docs/fidelity.md#resampling). On in
            converted official models; new models read one waveform in both branches.
        answer_language (`str`, *optional*): "en" or "zh" when every answer is known to be in that language (the
            model answers in the language of the audio): emotion scores then weigh that language's answers only, at
            about half the cost. None (the default) weighs both languages (docs/fidelity.md#emotion-scores).
    """

    def __init__(
        self,
        feature_extractor=None,
        tokenizer=None,
        speech_token="<|speech|>",
        num_acoustic_tokens=10,
        downsample_rate=4,
        normalize_waveform=False,
        max_mel_frames=3000,
        official_whisper_waveform=False,
        answer_language=None,
        **kwargs,
    ):
        if feature_extractor is None:  # the released front end (docs/fidelity.md#front-end)
            feature_extractor = WhisperFeatureExtractor(
                feature_size=80, sampling_rate=16000, n_fft=400, hop_length=160
            )
        if not isinstance(feature_extractor, WhisperFeatureExtractor):
            raise TypeError(
                f"feature_extractor must be a WhisperFeatureExtractor, got {type(feature_extractor).__name__}"
            )
        if feature_extractor.sampling_rate != 16000:
            # Emotion2Vec-S reads the same waveform, and it only knows 16 kHz.
            raise ValueError(f"feature_extractor.sampling_rate must be 16000, got {feature_extractor.sampling_rate}")
        if tokenizer is None:
            raise ValueError("C2SERProcessor needs the language model's tokenizer")
        for name, value, least in (
            ("num_acoustic_tokens", num_acoustic_tokens, 0),
            ("downsample_rate", downsample_rate, 1),
            ("max_mel_frames", max_mel_frames, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        if answer_language not in ANSWER_LANGUAGES:
            raise ValueError(f"answer_language must be one of {ANSWER_LANGUAGES}, got {answer_language!r}")
        if not isinstance(speech_token, str) or not speech_token:
            raise ValueError(f"speech_token must be a non-empty str, got {speech_token!r}")

        vocab = tokenizer.get_vocab()
        if speech_token not in vocab:
            tokenizer.add_special_tokens({"extra_special_tokens": [speech_token]}, replace_extra_special_tokens=False)
        # Batches are left-padded for generation, here and by callers that pad with the tokenizer (TRL);
        # save_pretrained writes padding_side only when init_kwargs has the key.
        tokenizer.padding_side = "left"
        tokenizer.init_kwargs["padding_side"] = "left"
        self.speech_token = speech_token
        self.speech_token_id = tokenizer.convert_tokens_to_ids(speech_token)
        self.eos_token_id = vocab.get(END_OF_TEXT, tokenizer.eos_token_id)
        if self.eos_token_id is None:
            raise ValueError(f"the tokenizer has neither {END_OF_TEXT} nor an eos token to end targets with")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.convert_ids_to_tokens(self.eos_token_id)
        # Emotion2Vec-S's input, with its one normalisation and padding path; `normalize_waveform` is read per call
        self._waveform_extractor = Emotion2VecSFeatureExtractor(sampling_rate=feature_extractor.sampling_rate)
        self.num_acoustic_tokens = num_acoustic_tokens
        self.downsample_rate = downsample_rate
        self.normalize_waveform = normalize_waveform
        self.max_mel_frames = max_mel_frames
        self.official_whisper_waveform = bool(official_whisper_waveform)
        self.answer_language = answer_language
        self._emotion_candidates = {}
        super().__init__(feature_extractor, tokenizer, **kwargs)

    def __call__(
        self, audio, mode="implicit", text=None, sampling_rate=None, targets=None, return_tensors="pt", device=None
    ):
        """
        Args:
            audio: one audio or a list: file paths, or arrays / tensors / lists of samples of any dtype, rate and
                channel layout (see `to_mono_16k`); at least 400 samples and at most `max_mel_frames` (30 s) each.
            mode (`str` or `list[str]`): `"implicit"`, `"explicit"` (the upstream prompts), or a custom prompt used
                verbatim; a list gives one per item. Strings close to a mode name ("implict", "Explicit") are refused
                as typos rather than sent to the model as a prompt.
            text (`str` or `list[str]`, *optional*): custom prompt(s), the usual processor argument name; give
                either `text` or a non-default `mode`.
            sampling_rate (`int`, *optional*): rate of array input; `None` takes arrays as 16 kHz (audio at another
                rate must say so, or it is read at the wrong speed). Files use their own rate.
            targets (`str` or `list[str]`, *optional*): answers to train on; they are appended with
                `<|endoftext|>` and returned as `labels` (-100 on prompt, speech and padding).
            return_tensors: `"pt"` (default), `"np"` or `None` (numpy).
            device (`str` or `torch.device`, *optional*): compute the log-mel of the whole batch with torch on this
                device (the model's: no round trip through the CPU on a GPU), and put the waveforms there too; the
                same numbers as the default per-clip path (`log_mel.py`). Needs `return_tensors="pt"`.

        Returns:
            [`BatchFeature`] with `input_ids`, `attention_mask` (left-padded), `input_features` (B, 80, T_mel_max)
            float32 and `feature_attention_mask` (B, T_mel_max), `input_values` (B, N_max) float32 and
            `input_values_mask` (B, N_max), both right-padded with zeros, and `labels` when `targets` are given.
            The same as `audio_features()` of the items' `waveforms()` and `text_inputs()` over them.
        """
        if text is not None and mode != "implicit":
            raise ValueError("give the prompt as `mode` or as `text`, not both")
        items = audio_items(audio)
        names = [name for _, name in items]
        prompts = self._prompts(mode if text is None else text, len(items), "mode" if text is None else "text")
        targets = self._targets(targets, len(items))
        pairs = [self.waveforms(item, sampling_rate, name) for item, name in items]
        audio_inputs = self.audio_features([p[0] for p in pairs], [p[1] for p in pairs], device, names, return_tensors)
        text_inputs = self._process_text(prompts, audio_inputs, targets)
        return BatchFeature({**text_inputs, **audio_inputs}, tensor_type=return_tensors)

    def audio_features(self, waveforms, whisper_waveforms=None, device=None, names=None, return_tensors="pt"):
        """
        The audio inputs of a batch, as `__call__` returns them: `input_features`, `feature_attention_mask`,
        `input_values`, `input_values_mask`. Computed once, they serve any number of prompts and targets
        (`text_inputs`): a scored explanation, the training collator's two targets.

        Args:
            waveforms (`list[np.ndarray]`): one Emotion2Vec-S waveform per item, as `waveforms()` returns it (16 kHz
                mono float32, checked there and not again).
            whisper_waveforms (`list[np.ndarray]`, *optional*): the Whisper-branch waveforms, `waveforms()`'s second
                output, each as long as its item (windows of long audio are cut from both at the same bounds);
                default `waveforms`.
            device, return_tensors: as `__call__`'s.
            names (`list[str]`, *optional*): how errors name the items (default `audio[i]`).
        """
        if device is not None and return_tensors != "pt":
            raise ValueError(f"device={device!r} computes torch tensors: it needs return_tensors='pt'")
        whisper_waveforms = waveforms if whisper_waveforms is None else whisper_waveforms
        if len(whisper_waveforms) != len(waveforms) or any(
            len(w) != len(a) for w, a in zip(whisper_waveforms, waveforms)
        ):
            raise ValueError(
                f"whisper_waveforms: expected one waveform per item, as long as the item "
                f"{[len(a) for a in waveforms]}, got lengths {[len(w) for w in whisper_waveforms]}"
            )
        names = names or [f"audio[{i}]" for i in range(len(waveforms))]
        rate, hop = self.feature_extractor.sampling_rate, self.feature_extractor.hop_length
        for name, waveform in zip(names, waveforms):
            if len(waveform) // hop > self.max_mel_frames:
                raise AudioInputError(
                    f"{name}: {len(waveform) / rate:.2f} s is {len(waveform) // hop} mel frames, more than "
                    f"max_mel_frames={self.max_mel_frames} ({self.max_mel_frames * hop / rate:g} s); "
                    "split longer audio into windows"
                )
        values = self._waveform_extractor.pad_waveforms(waveforms, do_normalize=self.normalize_waveform)
        mel, mel_mask = self._log_mel(whisper_waveforms, device)
        features = BatchFeature(
            {"input_features": mel, "feature_attention_mask": mel_mask, "input_values": values["input_values"],
             "input_values_mask": values["attention_mask"]},
            tensor_type=return_tensors,
        )
        return features if device is None else features.to(device)

    def text_inputs(self, mode, audio_features, targets=None, return_tensors="pt"):
        """`input_ids`, `attention_mask` (and `labels` with `targets`) of a batch whose `audio_features()` are
        computed: what `__call__` returns beside them for that audio with this `mode` and these `targets` (as
        `__call__`'s), with as many speech placeholders per item as its features give."""
        count = len(audio_features["feature_attention_mask"])
        text_inputs = self._process_text(self._prompts(mode, count, "mode"), audio_features,
                                         self._targets(targets, count))
        return BatchFeature(text_inputs, tensor_type=return_tensors)

    def waveforms(self, audio, sampling_rate=None, name="audio[0]"):
        """(Emotion2Vec-S waveform, Whisper waveform) of one audio input at 16 kHz (input forms as `__call__`): the
        same array, or with `official_whisper_waveform` the two waveforms of the released model's inference."""
        rate = self.feature_extractor.sampling_rate
        if self.official_whisper_waveform:
            return official_speech_waveforms(audio, sampling_rate, name, rate, self.min_samples)
        waveform = to_mono_16k(audio, sampling_rate, name, rate, self.min_samples)
        return waveform, waveform

    @property
    def min_samples(self) -> int:
        """Shortest accepted audio at 16 kHz: enough for `num_acoustic_tokens` Emotion2Vec-S frames (3280, 0.2 s)."""
        # the released model's acoustic tokens are Emotion2Vec-S's first frames, so audio must give that many
        return samples_for_frames(self.num_acoustic_tokens)

    @property
    def max_samples(self) -> int:
        """Longest audio per item at 16 kHz (`max_mel_frames` frames, 30 s); longer audio goes in windows."""
        return self.max_mel_frames * self.feature_extractor.hop_length

    def speech_lengths(self, mel_lengths):
        """Speech-block length per item from its mel frame count (an int, list, numpy array or torch tensor)."""
        speech = speech_block_lengths(mel_lengths, self.num_acoustic_tokens, self.downsample_rate)
        return speech.tolist() if isinstance(mel_lengths, (list, tuple)) else speech

    def post_process(self, generated_ids, skip_special_tokens=True):
        """
        Decode generated sequences (a (B, L) tensor/array or lists of ids) into `{"text", "emotion"}` dicts; the
        emotion is the canonical label of the answer's conclusion, or None. Sequences that still hold the prompt (as
        `generate` returns them) are cut after their last speech placeholder.
        """
        rows = generated_ids.tolist() if hasattr(generated_ids, "tolist") else [list(row) for row in generated_ids]
        if rows and not isinstance(rows[0], list):
            rows = [rows]
        results = []
        for row in rows:
            if self.speech_token_id in row:
                row = row[len(row) - row[::-1].index(self.speech_token_id) :]
            answer = self.tokenizer.decode(row, skip_special_tokens=skip_special_tokens).strip()
            results.append({"text": answer, "emotion": parse_emotion(answer)})
        return results

    def emotion_candidates(self, language=None) -> tuple[list[int], list[list[int]]]:
        """(emotion index in `EMOTIONS` per candidate, candidate token ids) for
        `C2SERForConditionalGeneration.emotion_probabilities`: the implicit answers for every wording of every
        emotion, in `language` ("en", "zh"; default `answer_language`, and both languages when that is None too).
        Use with `mode="implicit"` inputs."""
        language = language or self.answer_language
        if language not in self._emotion_candidates:
            self._emotion_candidates[language] = answer_candidates(self.tokenizer, self.eos_token_id, language=language)
        return self._emotion_candidates[language]

    @staticmethod
    def label_scores(probabilities) -> list[dict[str, float]]:
        """(batch, 7) probabilities → per item `{emotion: probability}` in `EMOTIONS` order."""
        return [dict(zip(EMOTIONS, (float(p) for p in row))) for row in probabilities]

    @property
    def model_input_names(self):
        return [
            "input_ids", "attention_mask", "input_features", "feature_attention_mask", "input_values",
            "input_values_mask",
        ]

    def _prompts(self, mode, count, name):
        if isinstance(mode, (list, tuple)):
            if len(mode) != count:
                raise ValueError(f"{name}: {len(mode)} prompts for {count} audio items")
            return [self._prompt(item, f"{name}[{i}]") for i, item in enumerate(mode)]
        return [self._prompt(mode, name)] * count

    def _prompt(self, mode, name):
        if not isinstance(mode, str):
            raise TypeError(f"{name}: expected 'implicit', 'explicit' or a prompt string, got {type(mode).__name__}")
        if mode in PROMPTS:
            return PROMPTS[mode]
        if not mode.strip():
            raise ValueError(f"{name}: the prompt is empty")
        if self.speech_token in mode:
            raise ValueError(f"{name}: the prompt contains the speech placeholder {self.speech_token}")
        typo = get_close_matches(mode.strip().lower(), PROMPTS, n=1, cutoff=0.75)
        if typo:
            raise ValueError(
                f"{name}: {mode!r} is not a mode (did you mean {typo[0]!r}?); modes are {tuple(PROMPTS)}, "
                "other strings are prompts"
            )
        return mode

    def _targets(self, targets, count):
        if targets is None:
            return None
        targets = [targets] if isinstance(targets, str) else targets
        if not isinstance(targets, (list, tuple)) or len(targets) != count:
            raise ValueError(f"targets: expected a list of {count} strings, one per audio item, got {targets!r:.80}")
        for i, target in enumerate(targets):
            if not isinstance(target, str) or not target.strip():
                raise ValueError(f"targets[{i}]: expected a non-empty str, got {target!r}")
            if self.speech_token in target:
                raise ValueError(f"targets[{i}]: contains the speech placeholder {self.speech_token}")
        return list(targets)

    def _log_mel(self, waveforms, device):
        """(log-mel (B, 80, T_mel_max) right-padded with zeros, frame mask (B, T_mel_max))."""
        extractor = self.feature_extractor
        if device is not None:
            return log_mel_batch(waveforms, extractor.mel_filters, extractor.n_fft, extractor.hop_length, device)
        # One item per call with no padding: the log-mel's dynamic-range max runs over the utterance alone and the
        # tail frames see no padded samples, as the released front end (docs/fidelity.md#front-end). No truncation
        # either: it cuts at 30 s.
        features = [
            extractor(
                waveform, sampling_rate=extractor.sampling_rate, padding="do_not_pad", truncation=False,
                return_tensors="np",
            )["input_features"][0].T
            for waveform in waveforms
        ]
        mel = extractor.pad(BatchFeature({"input_features": features}), padding="longest", return_attention_mask=True,
                            return_tensors="np")
        return mel["input_features"].transpose(0, 2, 1), mel["attention_mask"]

    def _process_text(self, prompts, audio_features, targets):
        tokenizer = self.tokenizer
        speech_lengths = self.speech_lengths(audio_features["feature_attention_mask"].sum(-1).tolist())
        prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        sequences = [prompt + [self.speech_token_id] * length for prompt, length in zip(prompt_ids, speech_lengths)]
        if targets is not None:
            answers = [ids + [self.eos_token_id] for ids in tokenizer(targets, add_special_tokens=False)["input_ids"]]
            sequences = [ids + answer for ids, answer in zip(sequences, answers)]
        text_inputs = dict(tokenizer.pad({"input_ids": sequences}, padding_side="left", return_tensors="np"))
        if targets is not None:
            # left padding puts every answer at the end of its row; all else is ignored by the loss
            labels = np.full((len(sequences), max(map(len, sequences))), IGNORE_INDEX, dtype=np.int64)
            for row, answer in zip(labels, answers):
                row[len(row) - len(answer) :] = answer
            text_inputs["labels"] = labels
        return text_inputs


__all__ = ["C2SERProcessor", "PROMPTS"]
