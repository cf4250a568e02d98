"""The official Whisper-branch waveform, written with torch, against the torchaudio calls the official code makes."""

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from transformers import AutoProcessor

from c2ser_hf.new_model import build_random_c2ser
from c2ser_hf.predict import predict
from c2ser_hf.processing import C2SERProcessor
from c2ser_hf.processing.official_waveforms import pcm16_round_trip, transforms_resample

from audio_fixtures import speech
from upstream_front_end import official_waveforms, reference_log_mel


def noise(rate, seconds=0.7, seed=0):
    return (np.random.default_rng(seed).normal(0, 0.2, int(rate * seconds))).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 24000, 44100, 48000])
def test_resampling_equals_torchaudio_transforms_resample_exactly(rate):
    samples = noise(rate)
    expected = torchaudio.transforms.Resample(rate, 16000)(torch.from_numpy(samples)[None])[0].numpy()
    functional = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000).numpy()
    ours = transforms_resample(samples, rate, 16000)
    print(f"\n{rate} Hz: max abs diff vs transforms.Resample {np.abs(ours - expected).max():.1e}, "
          f"transforms vs functional {np.abs(functional - expected).max():.1e}")
    assert ours.shape == expected.shape and np.array_equal(ours, expected)


def test_pcm16_round_trip_equals_a_wav_written_and_read_by_torchaudio(tmp_path):
    halfway = (np.arange(-40, 40) + 0.5) / 2**15  # ties round half to even
    samples = np.concatenate([noise(16000), halfway, [1.0, 1.5, -1.0, -1.2, 0.99999]]).astype(np.float32)
    torchaudio.save(tmp_path / "trip.wav", torch.from_numpy(samples)[None], 16000)
    assert sf.info(tmp_path / "trip.wav").subtype == "PCM_16"
    expected = torchaudio.load(tmp_path / "trip.wav")[0][0].numpy()
    assert np.array_equal(pcm16_round_trip(samples), expected)


@pytest.fixture(scope="module")
def processors(tmp_path_factory):
    """(official, one-waveform) processors; the official one through save/load, as a converted model ships it."""
    folder = tmp_path_factory.mktemp("processor")
    _, processor = build_random_c2ser("tiny")
    processor.official_whisper_waveform = True
    processor.save_pretrained(folder)
    official = AutoProcessor.from_pretrained(folder)
    assert official.official_whisper_waveform is True
    _, clean = build_random_c2ser("tiny")
    return official, clean


def test_22k_and_44k_files_give_the_official_log_mel_and_acoustic_waveform(processors, tmp_path):
    official, clean = processors
    stereo = np.stack([noise(44100, 1.1, seed=1), noise(44100, 1.1, seed=2)], axis=1)
    sf.write(tmp_path / "stereo44k.wav", stereo, 44100, subtype="FLOAT")
    for path in (speech(tmp_path / "speech22k.wav", "Good morning."), tmp_path / "stereo44k.wav"):
        whisper_wave, acoustic_wave, rate = official_waveforms(path, tmp_path)
        inputs, one_waveform = official(str(path)), clean(str(path))
        mel = (inputs["input_features"][0].T - reference_log_mel(whisper_wave)).abs().max().item()
        clean_mel = (one_waveform["input_features"][0].T - reference_log_mel(whisper_wave)).abs().max().item()
        print(f"\n{rate} Hz file: log-mel max abs diff vs the official resample + 16-bit round trip {mel:.1e} "
              f"(one waveform: {clean_mel:.1e})")
        assert mel <= 1e-6 < clean_mel
        assert torch.equal(inputs["input_values"][0], acoustic_wave)
        assert torch.equal(inputs["input_values"], one_waveform["input_values"])


def test_float_arrays_at_16k_are_quantised_for_whisper_only(processors):
    official, clean = processors
    samples = noise(16000)
    inputs = official(samples)
    assert torch.equal(inputs["input_values"][0], torch.from_numpy(samples))
    assert torch.equal(inputs["input_features"], clean(pcm16_round_trip(samples))["input_features"])
    assert not torch.equal(inputs["input_features"], clean(samples)["input_features"])
    # audio already on the 16-bit grid passes unchanged
    grid = pcm16_round_trip(samples)
    assert torch.equal(official(grid)["input_features"], clean(grid)["input_features"])


class RecordingProcessor(C2SERProcessor):
    """The processor, keeping the log-mel of every item it makes."""

    def audio_features(self, *args, **kwargs):
        inputs = super().audio_features(*args, **kwargs)
        lengths = inputs["feature_attention_mask"].sum(-1).tolist()
        self.log_mels += [features[:, :n] for features, n in zip(inputs["input_features"], lengths)]
        return inputs


def test_predict_cuts_both_branch_waveforms_at_the_same_window_bounds(processors, tmp_path):
    """Audio longer than the window limit (here 1 s): `predict` takes each window's log-mel from the matching slice of
    the whole file's official Whisper waveform, not from a Whisper waveform remade from the 16 kHz window."""
    official, _ = processors
    model, _ = build_random_c2ser("tiny")
    recording = RecordingProcessor(official.feature_extractor, official.tokenizer, official_whisper_waveform=True,
                                   max_mel_frames=100)
    recording.log_mels = []
    path = tmp_path / "long.wav"
    sf.write(path, noise(22050, 2.5, seed=3), 22050, subtype="FLOAT")
    result = predict(model, recording, [str(path)], max_new_tokens=1, num_beams=1, do_sample=False)[0]
    bounds = sorted((round(s["start"] * 16000), round(s["end"] * 16000)) for s in result["segments"])
    acoustic, whisper = official.waveforms(str(path))
    expected = [official.audio_features([acoustic[a:b]], [whisper[a:b]])["input_features"][0] for a, b in bounds]
    remade = [official(acoustic[a:b])["input_features"][0] for a, b in bounds]
    assert len(bounds) == 3 and len(recording.log_mels) == 3
    for mel in recording.log_mels:
        assert any(torch.equal(mel, e) for e in expected)
        assert not any(torch.equal(mel, r) for r in remade)
