"""Acoustic attributes for CoT data (issue 5): pitch accuracy on synthetic contours, loudness against pyloudnorm,
phoneme counts checked by hand, espeak-ng monotonicity, and the `acoustics` CLI."""

import json
import subprocess

import numpy as np
import pyloudnorm
import pytest
import scipy.signal

from audio_fixtures import speech
from c2ser_hf.cot import (
    AcousticMeter, PhonemizeError, count_phonemes, integrated_loudness, mean_pitch, pitch_estimator,
)
from c2ser_hf.cot.acoustics import measure_files
from cli_runner import cli_command

SR = 16000


def voiced_contour(f_start, f_end, seconds, seed, snr_db=20.0):
    """Harmonic signal on a log-linear F0 glide with 5 Hz vibrato, two unvoiced gaps, and white noise at `snr_db`
    against the voiced power; returns the signal and the true F0 per sample (NaN in the gaps)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = f_start * (f_end / f_start) ** (t / seconds) * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    harmonics = int(7000 / max(f_start, f_end) / 1.05)
    x = sum(0.7 ** k * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, harmonics + 1))
    voiced = ~(((t >= 0.25 * seconds) & (t < 0.33 * seconds)) | ((t >= 0.6 * seconds) & (t < 0.65 * seconds)))
    x = np.where(voiced, x, 0.0)
    x = x + rng.normal(0, np.sqrt(np.mean(x[voiced] ** 2) / 10 ** (snr_db / 10)), len(x))
    return (0.3 * x / np.abs(x).max()).astype(np.float32), np.where(voiced, f0, np.nan)


CONTOURS = [(80, 110), (110, 80), (100, 200), (200, 400), (400, 250), (150, 150), (80, 400), (300, 350), (90, 95)]


@pytest.mark.parametrize("estimator", ["praat"])
def test_pitch_accuracy_on_synthetic_contours(estimator):
    estimate = pitch_estimator(estimator)
    errors, octave_errors, compared, missed = [], 0, 0, 0
    for seed, (a, b) in enumerate(CONTOURS):
        x, f0 = voiced_contour(a, b, 2.0, seed)
        track = estimate(x, SR)
        # Judge only frames whose whole ±20 ms neighbourhood is voiced in the truth.
        window = int(0.02 * SR)
        clean = np.array([np.all(~np.isnan(f0[max(0, int(u * SR) - window):int(u * SR) + window])) for u in track.times])
        truth = np.interp(track.times, np.arange(len(f0)) / SR, np.nan_to_num(f0))
        both = clean & track.voiced
        ratio = track.f0[both] / truth[both]
        errors += list(np.abs(ratio - 1))
        octave_errors += int(np.sum(np.abs(np.log2(ratio)) > 0.4))
        compared += int(both.sum())
        missed += int((clean & ~track.voiced).sum())
    median, octave_rate = float(np.median(errors)), octave_errors / compared
    print(f"{estimator}: {compared} frames, median relative error {median:.4%}, octave errors {octave_rate:.3%}, "
          f"voiced frames missed {missed / (compared + missed):.2%}")
    assert median <= 0.02
    assert octave_rate <= 0.01
    assert missed / (compared + missed) <= 0.05


def glottal_voice(f0_at, seconds, seed, creak=None, snr_db=25.0):
    """Speech-like voicing: glottal pulses at the instantaneous F0 `f0_at(t)` (NaN: silence), shaped by a two-pole
    low-pass and four formant resonators, with white noise at `snr_db`. `creak(t)`: (gain of every second pulse,
    relative jitter of each period), creak's alternating, irregular pulses. Returns the signal and the true F0 per
    sample (1 / the period a sample lies in)."""
    rng = np.random.default_rng(seed)
    length = int(seconds * SR)
    pulses, truth = np.zeros(length), np.full(length, np.nan)
    t, count = 0.0, 0
    while t < seconds:
        f0 = f0_at(t)
        if np.isnan(f0):
            t += 0.005
            continue
        gain, jitter = creak(t) if creak else (1.0, 0.0)
        period = (1 + jitter * rng.standard_normal()) / f0
        start, end = int(t * SR), min(length, int((t + period) * SR))
        if start < length:
            pulses[start] = gain if count % 2 else 1.0
            truth[start:end] = 1 / period
        t, count = t + period, count + 1
    x = scipy.signal.lfilter([1.0], [1.0, -1.8, 0.81], pulses)
    for centre, bandwidth in ((600, 90), (1300, 110), (2500, 160), (3500, 250)):
        r, theta = np.exp(-np.pi * bandwidth / SR), 2 * np.pi * centre / SR
        x = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
    voiced = ~np.isnan(truth)
    x = x + rng.normal(0, np.sqrt(np.mean(x[voiced] ** 2) / 10 ** (snr_db / 10)), length)
    return (0.3 * x / np.abs(x).max()).astype(np.float32), truth


def dipping_tone(high, low, syllable=0.45, gap=0.08):
    """Mandarin tone 3 on every syllable: F0 falls from `high` to `low` and rises back; silent gaps between."""
    def f0_at(t):
        u = t % (syllable + gap)
        return np.nan if u >= syllable else low + (high - low) * (2 * u / syllable - 1) ** 2
    return f0_at


def creaky_stretch(modal, creak, start, end, ramp=0.1):
    """A modal voice that glides down into a creaky stretch at `creak` Hz between `start` and `end` and back."""
    def f0_at(t):
        weight = np.clip(min(t - start + ramp, end + ramp - t) / ramp, 0, 1)
        return modal * (creak / modal) ** weight
    return f0_at


def in_creak(start, end, gain, jitter):
    return lambda t: (gain, jitter) if start <= t < end else (1.0, 0.0)


LOW_VOICES = {
    "50 Hz": (lambda t: 50.0, None),
    "55 to 80 Hz": (lambda t: 55 * (80 / 55) ** (t / 2.0), None),
    "80 to 50 Hz": (lambda t: 80 * (50 / 80) ** (t / 2.0), None),
    "65 Hz, vibrato": (lambda t: 65 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t)), None),
    "tone 3, 80-55-80 Hz": (dipping_tone(80, 55), None),
    "tone 3, 230-150-230 Hz": (dipping_tone(230, 150), None),
    "72 Hz, creak at 50 Hz": (creaky_stretch(72, 50, 0.7, 1.2), in_creak(0.7, 1.2, 0.5, 0.0)),
    "110 Hz, irregular creak at 60 Hz": (creaky_stretch(110, 60, 0.6, 1.1), in_creak(0.6, 1.1, 0.4, 0.03)),
    "90 Hz, irregular creak at 55 Hz": (creaky_stretch(90, 55, 0.9, 1.5), in_creak(0.9, 1.5, 0.6, 0.05)),
}


def test_pitch_of_low_dipping_and_creaky_voices():
    """Voices of 50–80 Hz, Mandarin tone 3 dips and creaky stretches: accurate, and no octave errors at all."""
    estimate = pitch_estimator("praat")
    for seed, (name, (f0_at, creak)) in enumerate(LOW_VOICES.items()):
        x, truth = glottal_voice(f0_at, 2.0, seed, creak)
        track = estimate(x, SR)
        window = int(0.02 * SR)
        clean = np.array([np.all(~np.isnan(truth[max(0, int(u * SR) - window):int(u * SR) + window]))
                          for u in track.times])
        reference = np.interp(track.times, np.arange(len(truth)) / SR, np.nan_to_num(truth))
        both = clean & track.voiced
        ratio = track.f0[both] / reference[both]
        median, octave_errors = float(np.median(np.abs(ratio - 1))), int(np.sum(np.abs(np.log2(ratio)) > 0.4))
        # the utterance's mean F0 against the true F0 at the frames the tracker calls voiced (an irregular creak it
        # leaves unvoiced is then simply not part of either mean)
        true_mean = float(np.mean(reference[track.voiced & (reference > 0)]))
        mean_error = abs(mean_pitch(track) / true_mean - 1)
        print(f"{name}: {both.sum()} frames, median error {median:.3%}, octave errors {octave_errors}, "
              f"mean F0 {mean_pitch(track):.1f} vs {true_mean:.1f} Hz")
        assert both.sum() >= 60, name
        assert median <= 0.02 and octave_errors == 0 and mean_error <= 0.05, name


@pytest.fixture(scope="module")
def espeak_pitches(tmp_path_factory):
    folder = tmp_path_factory.mktemp("espeak_pitch")
    sentences = {"en": SENTENCE, "cmn": "今天天气很好，我们一起去公园散步吧。"}
    return {(voice, pitch): speech(folder / f"{voice}-{pitch}.wav", text, pitch=pitch, voice=voice)
            for voice, text in sentences.items() for pitch in (15, 50, 85)}


def test_acoustics_cli_pitch_rises_with_espeak_pitch_in_english_and_mandarin(espeak_pitches):
    keys = list(espeak_pitches)
    run = subprocess.run([*cli_command("acoustics"), *map(str, espeak_pitches.values()),
                          "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    measured = dict(zip(keys, (json.loads(line)["pitch_hz"] for line in run.stdout.splitlines())))
    for voice in ("en", "cmn"):
        values = [measured[voice, pitch] for pitch in (15, 50, 85)]
        print(f"espeak-ng -v {voice} -p 15/50/85: mean F0 {np.round(values, 1)} Hz")
        assert values[0] < values[1] < values[2], (voice, values)


def test_mean_pitch_of_a_steady_tone_and_no_pitch_in_noise():
    meter = AcousticMeter()
    t = np.arange(SR) / SR
    tone = 0.3 * sum(np.sin(2 * np.pi * 180 * k * t) / k for k in range(1, 6))
    noise = np.random.default_rng(0).normal(0, 0.1, SR)
    steady, hiss = meter([tone, noise])
    assert abs(steady.pitch_hz - 180) < 1
    assert hiss.pitch_hz is None and hiss.reasons["pitch_hz"] == "no voiced frames"
    assert steady.reasons["speaking_rate"] == "no transcript"


def loudness_signals():
    rng = np.random.default_rng(1)
    t = np.arange(3 * SR) / SR
    yield "noise", rng.normal(0, 0.05, 3 * SR)
    yield "tone 1 kHz", 0.5 * np.sin(2 * np.pi * 1000 * t)
    yield "tone 60 Hz", 0.5 * np.sin(2 * np.pi * 60 * t)
    yield "bursts", np.where((t % 1.0) < 0.3, 0.4, 0.003) * rng.normal(size=len(t))
    yield "quiet", 1e-3 * rng.normal(size=len(t))
    yield "contour", voiced_contour(100, 300, 3.0, 3)[0]


@pytest.mark.parametrize("name,signal", list(loudness_signals()), ids=[n for n, _ in loudness_signals()])
def test_loudness_matches_pyloudnorm(name, signal):
    ours = integrated_loudness(signal, SR)
    reference = pyloudnorm.Meter(SR).integrated_loudness(np.asarray(signal, dtype=np.float64))
    print(f"{name}: ours {ours:.4f} LUFS, pyloudnorm {reference:.4f}, diff {abs(ours - reference):.4f} LU")
    assert abs(ours - reference) <= 0.1


def test_loudness_of_short_clips_and_silence():
    x = np.random.default_rng(2).normal(0, 0.1, int(0.4 * SR)).astype(np.float32)
    exact = integrated_loudness(x, SR)  # one full 400 ms block: BS.1770 itself
    short = integrated_loudness(x[:-1], SR)  # one sample short: the clip is the block
    assert abs(exact - pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64))) <= 0.1
    assert abs(short - exact) < 0.01
    assert integrated_loudness(x[:800], SR) is not None  # 50 ms still has a loudness
    assert integrated_loudness(np.zeros(SR), SR) is None
    assert integrated_loudness(np.zeros(0), SR) is None
    assert integrated_loudness(1e-6 * x, SR) is None  # below the −70 LUFS absolute gate


# Counted by hand. English: espeak-ng's phones (diphthongs are one phone, "2024" is read out).
# Chinese: initial (声母) + final (韵母) per syllable; zero-initial syllables (我 wo → uo, 安 an) have one.
PHONEME_COUNTS = [
    ("Hello world.", "en", 8),  # h ə l oʊ | w ɜː l d
    ("The cat sat.", "en", 8),  # ð ə | k æ t | s æ t
    ("I see you.", "en", 5),  # aɪ | s iː | j uː
    ("Stop!", "en", 4),  # s t ɑː p
    ("你好，世界。", "zh", 8),  # n i h ao sh i j ie
    ("我爱北京天安门", "zh", 11),  # uo ai b ei j ing t ian an m en
    ("谢谢", "zh", 4),  # x ie x ie
]


def test_phoneme_counts_checked_by_hand():
    texts, languages, expected = zip(*PHONEME_COUNTS)
    assert count_phonemes(list(texts), list(languages)) == list(expected)


def test_latin_words_in_chinese_text_are_counted_as_english():
    mixed, = count_phonemes(["我用iPhone"], ["zh"])
    english, = count_phonemes(["iPhone"], ["en"])
    assert mixed == 2 + english  # 我 uo, 用 ong (strict pinyin: y is no initial)


def test_unsupported_language_is_a_clear_error():
    with pytest.raises(PhonemizeError, match=r"text 1 \('Bonjour'\): language 'fr' cannot be phonemised"):
        count_phonemes(["hi", "Bonjour"], ["en", "fr"])
    results = AcousticMeter()([np.random.default_rng(0).normal(0, 0.1, SR)] * 2, ["hi there", "Bonjour"], ["en", "fr"])
    assert results[0].speaking_rate is not None
    assert results[1].speaking_rate is None and "'fr' cannot be phonemised" in results[1].reasons["speaking_rate"]


SENTENCE = "She walked to the market on a bright Sunday morning."


@pytest.fixture(scope="module")
def espeak_settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("espeak")
    renders = {}
    for setting, values in {"pitch": (20, 50, 80), "speed": (120, 175, 250), "amplitude": (40, 100, 180)}.items():
        for value in values:
            options = {"pitch": 50, "speed": 160, "amplitude": 100, setting: value}
            renders[setting, value] = speech(folder / f"{setting}-{value}.wav", SENTENCE, **options)
    return renders


def test_espeak_settings_raise_their_measurements(espeak_settings):
    keys = list(espeak_settings)
    results = measure_files([espeak_settings[k] for k in keys], [SENTENCE] * len(keys), ["en"] * len(keys))
    by_key = dict(zip(keys, results))
    for setting, attribute in (("pitch", "pitch_hz"), ("speed", "speaking_rate"), ("amplitude", "loudness_lufs")):
        values = [by_key[k][attribute] for k in keys if k[0] == setting]
        print(f"espeak {setting} settings {[k[1] for k in keys if k[0] == setting]}: {attribute} {np.round(values, 2)}")
        assert all(a < b for a, b in zip(values, values[1:])), (setting, values)


def test_acoustics_cli_json_and_per_file_errors(espeak_settings, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    good = espeak_settings["pitch", 50]
    texts = tmp_path / "texts.txt"
    texts.write_text(f"{SENTENCE}\n\n", encoding="utf-8")
    run = subprocess.run(
        [*cli_command("acoustics"), str(good), str(good), "--texts", str(texts), "--json"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    first, second = map(json.loads, run.stdout.splitlines())
    assert first["speaking_rate"] > 5 and 80 < first["pitch_hz"] < 300 and -40 < first["loudness_lufs"] < 0
    assert second["speaking_rate"] is None and second["reasons"] == {"speaking_rate": "no transcript"}
    assert second["pitch_hz"] == first["pitch_hz"]
    run = subprocess.run(
        [*cli_command("acoustics"), str(broken), str(good), "--text", SENTENCE, "--json"],
        capture_output=True, text=True,
    )
    assert run.returncode == 1
    bad, fine = map(json.loads, run.stdout.splitlines())
    assert str(broken) in bad["error"] and fine["speaking_rate"] > 5
    run = subprocess.run(
        [*cli_command("acoustics"), str(good), "--texts", str(texts), "--json"],
        capture_output=True, text=True,
    )
    assert run.returncode == 2 and "2 lines for 1 audio files" in run.stderr


def test_pitch_estimators_are_chosen_by_name_and_penn_needs_weights_on_disk(tmp_path):
    with pytest.raises(ValueError, match="pitch estimator 'crepe' is not one of \\['penn', 'praat', 'pyin'\\]"):
        pitch_estimator("crepe")
    with pytest.raises(ValueError, match="'penn' needs its weights on disk: checkpoint \\(none given\\) is not a file"):
        pitch_estimator("penn")
    with pytest.raises(ValueError, match="fcnf0.pt is not a file"):
        pitch_estimator("penn", checkpoint=tmp_path / "fcnf0.pt")
    t = np.arange(SR) / SR
    track = pitch_estimator("pyin")(0.3 * np.sin(2 * np.pi * 220 * t), SR)
    assert abs(np.nanmedian(track.f0) - 220) < 3
