"""Per-utterance acoustic evidence for chain-of-thought targets (paper §III-C step 1): mean pitch over voiced
frames, integrated loudness, and speaking rate in phonemes per second of speech after trimming edge silence."""

from dataclasses import asdict, dataclass, field

import numpy as np

from .loudness import integrated_loudness
from .phonemes import PhonemizeError, count_phonemes, detect_language
from .pitch import mean_pitch, pitch_estimator

ATTRIBUTES = ("pitch_hz", "loudness_lufs", "speaking_rate")
SAMPLING_RATE = 16000
# Leading/trailing frames quieter than this below the clip's loudest frame are silence (librosa's trim criterion).
TRIM_TOP_DB = 35.0


@dataclass
class Acoustics:
    """One utterance's measurements; a None value has its reason in `reasons` under the same key."""

    pitch_hz: float | None = None
    loudness_lufs: float | None = None
    speaking_rate: float | None = None
    speech_duration_s: float | None = None
    reasons: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def speech_span(waveform: np.ndarray) -> tuple[int, int] | None:
    """(start, end) samples of the clip without its leading and trailing silence; None when it is all silence."""
    import librosa

    if not np.any(waveform):
        return None
    _, (start, end) = librosa.effects.trim(waveform, top_db=TRIM_TOP_DB, frame_length=512, hop_length=128)
    return (int(start), int(end)) if end > start else None


class AcousticMeter:
    """Measures batches of 16 kHz mono clips with their transcripts; one phonemiser call per batch."""

    def __init__(self, pitch: str = "praat", **pitch_options):
        self.pitch = pitch_estimator(pitch, **pitch_options)

    def __call__(self, waveforms, texts=None, languages=None) -> list[Acoustics]:
        """`texts[i]` None or "" means no transcript; `languages[i]` None means detect from the text."""
        texts = [None] * len(waveforms) if texts is None else list(texts)
        languages = [None] * len(waveforms) if languages is None else list(languages)
        results = [self._signal(np.asarray(w, dtype=np.float32)) for w in waveforms]
        to_count = []
        for index, (result, text) in enumerate(zip(results, texts)):
            if not text or not text.strip():
                result.reasons["speaking_rate"] = "no transcript"
            elif result.speech_duration_s is None:
                result.reasons["speaking_rate"] = "no speech after trimming silence"
            else:
                to_count.append(index)
        if to_count:
            self._rates(results, to_count, texts, languages)
        return results

    def _signal(self, waveform: np.ndarray) -> Acoustics:
        result = Acoustics()
        result.loudness_lufs = integrated_loudness(waveform, SAMPLING_RATE)
        if result.loudness_lufs is None:
            result.reasons["loudness_lufs"] = "silent (below the -70 LUFS absolute gate)"
        span = speech_span(waveform)
        if span is None:
            result.reasons["speech_duration_s"] = "all silence"
            result.reasons["pitch_hz"] = "all silence"
            return result
        result.speech_duration_s = (span[1] - span[0]) / SAMPLING_RATE
        result.pitch_hz = mean_pitch(self.pitch(waveform, SAMPLING_RATE))
        if result.pitch_hz is None:
            result.reasons["pitch_hz"] = "no voiced frames"
        return result

    def _rates(self, results, indices, texts, languages):
        chosen = [languages[i] or detect_language(texts[i]) for i in indices]
        try:
            counts = count_phonemes([texts[i] for i in indices], chosen)
        except PhonemizeError:
            # Find the offending texts one by one so the others still get a rate.
            counts = []
            for i, language in zip(indices, chosen):
                try:
                    counts.append(count_phonemes([texts[i]], [language])[0])
                except PhonemizeError as error:
                    results[i].reasons["speaking_rate"] = str(error).split(": ", 1)[-1]
                    counts.append(None)
        for i, count in zip(indices, counts):
            if count is None:
                continue
            if count == 0:
                results[i].reasons["speaking_rate"] = "transcript has nothing to pronounce"
            else:
                results[i].speaking_rate = count / results[i].speech_duration_s


def measure_files(paths, texts=None, languages=None, meter: AcousticMeter | None = None, batch_size: int = 32):
    """One dict per file: `file`, the measurements and `reasons` for the None ones; or `file` and `error` when the
    file cannot be read. Bad files are reported and the others go on."""
    from ..processing.audio_input import AudioInputError, to_mono_16k

    meter = meter or AcousticMeter()
    texts = [None] * len(paths) if texts is None else list(texts)
    languages = [None] * len(paths) if languages is None else list(languages)
    if not len(texts) == len(languages) == len(paths):
        raise ValueError(f"{len(paths)} audio files but {len(texts)} transcripts and {len(languages)} languages")
    results = []
    for start in range(0, len(paths), batch_size):
        loaded, errors = [], {}
        for index in range(start, min(start + batch_size, len(paths))):
            try:
                loaded.append((index, to_mono_16k(paths[index])))
            except AudioInputError as error:
                errors[index] = str(error)
        measured = dict(zip(
            (i for i, _ in loaded),
            meter([w for _, w in loaded], [texts[i] for i, _ in loaded], [languages[i] for i, _ in loaded]),
        ))
        for index in range(start, min(start + batch_size, len(paths))):
            entry = {"file": str(paths[index])}
            entry.update({"error": errors[index]} if index in errors else measured[index].as_dict())
            results.append(entry)
    return results
