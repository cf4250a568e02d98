"""Pitch (F0) estimators behind one interface, and the utterance's mean F0 over voiced frames (paper §III-C step 1).

The paper used PENN; its weights are a download, so the offline default is Praat's autocorrelation method through
parselmouth, which is accurate on speech and fast on one core. PENN is used when its checkpoint is on disk.
"""

from dataclasses import dataclass

import numpy as np

from ..option_error import option_error

# The first pass searches this range: bass and creaky voices reach 40–50 Hz (a 60 Hz floor reads them an octave or
# more too high), children and shouting reach 800 Hz.
PITCH_FLOOR_HZ = 40.0
PITCH_CEILING_HZ = 800.0
HOP_SECONDS = 0.01
# fewer voiced frames than this in the first pass (0.1 s) give no basis for a speaker range: the first pass stands
SPEAKER_RANGE_MIN_FRAMES = 10


@dataclass(frozen=True)
class PitchTrack:
    """Frame times in seconds and F0 in Hz, NaN where a frame is unvoiced."""

    times: np.ndarray
    f0: np.ndarray

    @property
    def voiced(self) -> np.ndarray:
        return ~np.isnan(self.f0)


def speaker_range(voiced_f0: np.ndarray, floor_hz: float, ceiling_hz: float) -> tuple[float, float]:
    """The speaker's F0 range from a first pass, 0.75·Q1 to 1.5·Q3 (De Looze & Hirst's two-pass method), inside the
    search range. Octave jumps of the first pass are rarer than a quarter of the frames, so the quartiles ignore them,
    and the range then excludes them."""
    q1, q3 = np.percentile(voiced_f0, [25, 75])
    return max(floor_hz, 0.75 * q1), min(ceiling_hz, 1.5 * q3)


class PitchEstimator:
    """An F0 tracker (`track`) run in two passes: a wide search, then again within the speaker's own range, which
    removes the octave jumps that low, creaky voices provoke."""

    name = ""

    def __init__(self, floor_hz: float = PITCH_FLOOR_HZ, ceiling_hz: float = PITCH_CEILING_HZ, hop_seconds=HOP_SECONDS):
        self.floor_hz, self.ceiling_hz, self.hop_seconds = floor_hz, ceiling_hz, hop_seconds

    def track(self, waveform: np.ndarray, sampling_rate: int, floor_hz: float, ceiling_hz: float) -> PitchTrack:
        raise NotImplementedError

    def __call__(self, waveform: np.ndarray, sampling_rate: int) -> PitchTrack:
        first = self.track(waveform, sampling_rate, self.floor_hz, self.ceiling_hz)
        voiced = first.f0[first.voiced]
        if len(voiced) < SPEAKER_RANGE_MIN_FRAMES:
            return first
        return self.track(waveform, sampling_rate, *speaker_range(voiced, self.floor_hz, self.ceiling_hz))


class PraatPitch(PitchEstimator):
    """Praat's autocorrelation pitch tracker (Boersma 1993) with Praat's own voicing and octave costs."""

    name = "praat"

    def __init__(self, floor_hz: float = PITCH_FLOOR_HZ, ceiling_hz: float = PITCH_CEILING_HZ, hop_seconds=HOP_SECONDS):
        import parselmouth

        super().__init__(floor_hz, ceiling_hz, hop_seconds)
        self._parselmouth = parselmouth

    def track(self, waveform, sampling_rate, floor_hz, ceiling_hz) -> PitchTrack:
        sound = self._parselmouth.Sound(np.asarray(waveform, dtype=np.float64), sampling_frequency=sampling_rate)
        # Praat needs three periods of the floor frequency in its analysis window.
        if sound.duration < 3.0 / floor_hz:
            return PitchTrack(np.zeros(0), np.zeros(0))
        pitch = sound.to_pitch_ac(time_step=self.hop_seconds, pitch_floor=floor_hz, pitch_ceiling=ceiling_hz)
        f0 = pitch.selected_array["frequency"].astype(np.float64)
        f0[f0 <= 0] = np.nan
        return PitchTrack(np.asarray(pitch.xs()), f0)


class PyinPitch(PitchEstimator):
    """librosa's probabilistic YIN: slower than Praat, a second opinion that needs no weights."""

    name = "pyin"

    def __init__(self, floor_hz: float = PITCH_FLOOR_HZ, ceiling_hz: float = PITCH_CEILING_HZ, hop_seconds=HOP_SECONDS):
        import librosa

        super().__init__(floor_hz, ceiling_hz, hop_seconds)
        self._librosa = librosa

    def track(self, waveform, sampling_rate, floor_hz, ceiling_hz) -> PitchTrack:
        hop = int(round(self.hop_seconds * sampling_rate))
        frame = 2048 if sampling_rate >= 16000 else 1024
        if len(waveform) < frame:
            return PitchTrack(np.zeros(0), np.zeros(0))
        f0, voiced, _ = self._librosa.pyin(
            np.asarray(waveform, dtype=np.float32), fmin=floor_hz, fmax=ceiling_hz, sr=sampling_rate,
            frame_length=frame, hop_length=hop,
        )
        f0 = np.where(voiced, f0, np.nan)
        return PitchTrack(np.arange(len(f0)) * hop / sampling_rate, f0)


class PennPitch(PitchEstimator):
    """PENN (Morrison et al. 2023), the estimator of the paper, from a checkpoint file on disk (never downloaded)."""

    name = "penn"
    # The periodicity threshold that PENN's documentation uses for voicing.
    VOICING_THRESHOLD = 0.065

    def __init__(self, checkpoint=None, floor_hz=PITCH_FLOOR_HZ, ceiling_hz=PITCH_CEILING_HZ, hop_seconds=HOP_SECONDS):
        from pathlib import Path

        if checkpoint is None or not Path(checkpoint).is_file():
            raise option_error(
                ValueError,
                f"pitch estimator 'penn' needs its weights on disk: checkpoint {checkpoint or '(none given)'} is not "
                "a file (download PENN's fcnf0++ checkpoint once and give its path as {option})",
                "checkpoint=", "--penn-checkpoint",
            )
        try:
            import penn
        except ImportError as error:
            raise ValueError("pitch estimator 'penn' needs the `penn` package: pip install penn") from error
        super().__init__(floor_hz, ceiling_hz, hop_seconds)
        self._penn = penn
        self.checkpoint = Path(checkpoint)

    def track(self, waveform, sampling_rate, floor_hz, ceiling_hz) -> PitchTrack:
        import torch

        audio = torch.as_tensor(np.asarray(waveform, dtype=np.float32))[None]
        f0, periodicity = self._penn.from_audio(
            audio, sampling_rate, hopsize=self.hop_seconds, fmin=floor_hz, fmax=ceiling_hz,
            checkpoint=self.checkpoint, center="half-hop",
        )
        f0 = f0[0].double().numpy()
        f0[periodicity[0].numpy() <= self.VOICING_THRESHOLD] = np.nan
        return PitchTrack((np.arange(len(f0)) + 0.5) * self.hop_seconds, f0)


PITCH_ESTIMATORS = {cls.name: cls for cls in (PraatPitch, PyinPitch, PennPitch)}


def pitch_estimator(name: str = "praat", **options):
    """An estimator by name ("praat", "pyin", "penn"), built with `options` (e.g. checkpoint= for PENN)."""
    if name not in PITCH_ESTIMATORS:
        raise ValueError(f"pitch estimator {name!r} is not one of {sorted(PITCH_ESTIMATORS)}")
    return PITCH_ESTIMATORS[name](**options)


def mean_pitch(track: PitchTrack) -> float | None:
    """The utterance's tone as the paper defines it: the mean F0 of the voiced frames; None when none is voiced."""
    voiced = track.f0[track.voiced]
    return float(voiced.mean()) if len(voiced) else None
