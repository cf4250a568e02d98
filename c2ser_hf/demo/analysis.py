"""What the demo computes for a clip: the emotion and its seven probabilities (per ≤ 30 s window for long audio), the
chain-of-thought explanation, and the measured evidence (pitch, loudness, speaking rate, their levels, the pitch
contour). Every result is a plain JSON-able dict, the same for the page and for API clients; a clip that cannot be
used gives `{"error": one line}` and the other clips of a batch go on."""

import math
import os
import re
from pathlib import Path

import numpy as np
import torch
from transformers.utils import cached_file

from ..cot.acoustics import ATTRIBUTES, SAMPLING_RATE, AcousticMeter
from ..cot.levels import AttributeStats, CorpusStats
from ..model_loading import load_c2ser
from ..predict import predict
from ..processing.audio_input import AudioInputError, to_mono_16k

# The level statistics a model ships: the `stats.json` that `build-cot` wrote for its training corpus, copied into
# the model folder under this name.
STATS_FILE = "acoustic_stats.json"
# Used when the model ships none: rough values for adult speech, not measured on a corpus (the README's "Space"
# section gives their basis). count=0 marks them as reference values.
REFERENCE_STATS = CorpusStats({
    "pitch_hz": AttributeStats(mean=165.0, std=50.0, count=0),  # mean F0 ~120 Hz (men) and ~210 Hz (women)
    "loudness_lufs": AttributeStats(mean=-24.0, std=5.0, count=0),  # loudness-normalised speech targets -23/-24 LUFS
    "speaking_rate": AttributeStats(mean=12.0, std=3.0, count=0),  # conversational speech: 10-15 phonemes/s
})
REFERENCE_SOURCE = "reference values for adult speech (the model ships no statistics)"
# The implicit answer is one short sentence; the label comes from the scores, the text is only reported.
IMPLICIT_ANSWER_TOKENS = 32

# One upload's share of the Space's single model slot: longer clips are refused from their header before decoding
# (the command line's limit is an hour, `processing/audio_input.py`).
SPACE_MAX_SECONDS = 120.0
# Nobody speaks 30 characters a second (fast speech is about 20): a longer transcript is not the clip's, and would
# make a speaking rate of thousands of phonemes per second (a 200 KB one gave 49,601) after a long phonemisation.
TRANSCRIPT_CHARACTERS_PER_SECOND = 30
MAX_TRANSCRIPT_CHARACTERS = int(TRANSCRIPT_CHARACTERS_PER_SECOND * SPACE_MAX_SECONDS)
# A short clip still takes a short sentence ("Yes, absolutely." is 16 characters in half a second).
TRANSCRIPT_SLACK_CHARACTERS = 20
# Generation of one batch stops after this long (transformers' max_time), whatever the answer's length: with the
# clip and transcript bounds it bounds the time a request holds the model slot.
MAX_GENERATION_SECONDS = 30.0


def load_stats(model: str, stats: str | os.PathLike | None = None) -> tuple[CorpusStats, str]:
    """(statistics, where they come from): the `stats` file when given, else the model's `acoustic_stats.json`
    (a folder or a Hub repo, from the cache when offline), else `REFERENCE_STATS`."""
    if stats is not None:
        return CorpusStats.load(stats), str(stats)
    shipped = cached_file(model, STATS_FILE, _raise_exceptions_for_missing_entries=False,
                          _raise_exceptions_for_connection_errors=False)
    if shipped is not None:
        return CorpusStats.load(shipped), f"{model}/{STATS_FILE}"
    return REFERENCE_STATS, REFERENCE_SOURCE


def _rounded(value, digits=2):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)


class Analyzer:
    """The model, its processor, the acoustic meter and the level statistics, loaded once and shared by all requests."""

    def __init__(self, model, processor, stats: CorpusStats = REFERENCE_STATS, stats_source: str = REFERENCE_SOURCE,
                 batch_size: int = 8):
        self.model, self.processor, self.batch_size = model, processor, batch_size
        self.stats, self.stats_source = stats, stats_source
        self.meter = AcousticMeter()

    @classmethod
    def from_pretrained(cls, value: str, device: str | None = None, stats=None, batch_size: int = 8) -> "Analyzer":
        """From a C2SER folder, Hub id or "official" (the released checkpoint, converted once and cached). On a GPU
        the language model runs in bfloat16 (the encoders stay float32). Bad values raise one-line ValueErrors."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
        model, processor = load_c2ser(value, dtype=dtype, device=device, command="the demo")
        # the folder or Hub id the model came from ("official" resolved), where its statistics would be
        return cls(model, processor, *load_stats(model.name_or_path, stats), batch_size=batch_size)

    def warm_up(self) -> None:
        """Run one short clip through every path, so the first visitor does not wait for lazy imports."""
        clip = 0.1 * np.sin(2 * np.pi * 150 * np.arange(SAMPLING_RATE) / SAMPLING_RATE).astype(np.float32)
        self._recognise([clip], mode="implicit", max_new_tokens=1, num_beams=1)
        self.meter([clip], ["warm up"], ["en"])

    def _decode(self, audio, transcript: str | None = None) -> np.ndarray:
        """A file (as Gradio hands it over) as 16 kHz mono, its transcript within the bounds above; errors name the
        file, not the server's upload folder."""
        if audio is None:
            raise AudioInputError("no audio: upload a file or record a clip first")
        name = Path(audio).name
        if transcript is not None and len(transcript) > MAX_TRANSCRIPT_CHARACTERS:  # before any work on it
            raise AudioInputError(f"{name}: the transcript has {len(transcript):,} characters, over the limit of "
                                  f"{MAX_TRANSCRIPT_CHARACTERS:,} ({SPACE_MAX_SECONDS:g} s of speech)")
        try:
            clip = to_mono_16k(audio, min_samples=self.processor.min_samples, max_seconds=SPACE_MAX_SECONDS)
        except AudioInputError as error:
            raise AudioInputError(without_path(str(error), os.fspath(audio), name)) from None
        seconds = len(clip) / SAMPLING_RATE
        allowed = int(TRANSCRIPT_CHARACTERS_PER_SECOND * seconds) + TRANSCRIPT_SLACK_CHARACTERS
        if transcript is not None and len(transcript) > allowed:
            raise AudioInputError(f"{name}: the transcript has {len(transcript):,} characters, more than "
                                  f"{seconds:.1f} s of speech holds (at most {allowed:,}); give the clip's own "
                                  "transcript")
        return clip

    def _recognise(self, waveforms: list, mode: str, scores: bool = False, **generate_kwargs) -> list[dict]:
        """The one call into the package's inference path (decode → windows → processor → scores/generate →
        labels)."""
        return predict(self.model, self.processor, waveforms, mode=mode, scores=scores, batch_size=self.batch_size,
                       max_time=MAX_GENERATION_SECONDS, **generate_kwargs)

    def _decode_all(self, audios, transcripts=None) -> tuple[list, dict]:
        waveforms, errors = [], {}
        for index, audio in enumerate(audios):
            try:
                waveforms.append(self._decode(audio, transcripts[index] if transcripts else None))
            except AudioInputError as error:
                errors[index] = str(error)
                waveforms.append(None)
        return waveforms, errors

    def analyze(self, audios: list, transcripts: list | None = None) -> list[dict]:
        """Per clip: `emotion`, `scores` (seven probabilities), `answer` (the model's implicit text), `duration_s`,
        `segments` (clips over 30 s: start, end, emotion, scores per window), `evidence` (pitch_hz, loudness_lufs,
        speaking_rate, speech_duration_s), `levels` (Low/Medium/High), `reasons` (why a value is missing) and
        `pitch_contour` ({times, hz}, None where unvoiced); or `error`."""
        transcripts = [None] * len(audios) if transcripts is None else [t or None for t in transcripts]
        waveforms, errors = self._decode_all(audios, transcripts)
        good = [i for i in range(len(audios)) if i not in errors]
        results = [{"error": errors[i]} if i in errors else None for i in range(len(audios))]
        if not good:
            return results
        clips = [waveforms[i] for i in good]
        # the files, not the 16 kHz clips: a converted official model's processor resamples each branch from the file
        # as the release did (docs/fidelity.md#resampling)
        predictions = self._recognise([audios[i] for i in good], mode="implicit", scores=True, num_beams=1,
                                      max_new_tokens=IMPLICIT_ANSWER_TOKENS)
        acoustics = self.meter(clips, [transcripts[i] for i in good])
        for index, clip, prediction, measured in zip(good, clips, predictions, acoustics):
            if "error" in prediction:
                results[index] = {"error": without_path(prediction["error"], os.fspath(audios[index]),
                                                        Path(audios[index]).name)}
                continue
            values = measured.as_dict()
            result = {
                "emotion": prediction["emotion"],
                "scores": prediction["scores"],
                "answer": prediction["text"],
                "duration_s": _rounded(len(clip) / SAMPLING_RATE),
                "evidence": {k: _rounded(values[k]) for k in (*ATTRIBUTES, "speech_duration_s")},
                "levels": self.stats.levels(values),
                "reasons": values["reasons"],
                "pitch_contour": self._contour(clip),
            }
            if "segments" in prediction:
                result["segments"] = [{"start": _rounded(s["start"]), "end": _rounded(s["end"]),
                                       "emotion": s["emotion"], "scores": s["scores"]} for s in prediction["segments"]]
            results[index] = result
        return results

    def _contour(self, clip: np.ndarray) -> dict:
        track = self.meter.pitch(clip, SAMPLING_RATE)
        return {"times": [round(float(t), 3) for t in track.times], "hz": [_rounded(f, 1) for f in track.f0]}

    def explain(self, audios: list) -> list[dict]:
        """Per clip: the explicit (chain-of-thought) answer `text` and the `emotion` it names; or `error`. Decoding
        follows the model's generation config (the released decoder for converted official models)."""
        _, errors = self._decode_all(audios)
        good = [i for i in range(len(audios)) if i not in errors]
        results = [{"error": errors[i]} if i in errors else None for i in range(len(audios))]
        if good:
            for index, answer in zip(good, self._recognise([audios[i] for i in good], mode="explicit")):
                results[index] = ({"error": without_path(answer["error"], os.fspath(audios[index]),
                                                         Path(audios[index]).name)} if "error" in answer
                                  else {"emotion": answer["emotion"], "text": answer["text"]})
        return results


def without_path(message: str, path: str, name: str) -> str:
    """`message` with the server's `path` of an upload shown as its file `name`, also where the decoder's detail
    was cut short inside the path (a word ending in "..." that begins the path)."""
    message = message.replace(path, name)

    def shortened(found: re.Match) -> str:
        return f"{name}..." if path.startswith(found.group(1)) else found.group(0)

    return re.sub(r"(\S+)\.\.\.", shortened, message)
