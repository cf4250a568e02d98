"""Emotion2VecSFeatureExtractor and the audio input conversion it shares with the other processors."""

import re

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from c2ser_hf.processing.audio_input import AudioInputError, to_mono_16k, to_mono_16k_batch
from c2ser_hf.processing.feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor


def _noise(num_samples, seed=0, channels=None):
    shape = (num_samples,) if channels is None else (channels, num_samples)
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


@pytest.fixture(scope="module")
def extractor():
    return Emotion2VecSFeatureExtractor()


def test_pads_batch_and_masks_real_samples(extractor):
    long, short = _noise(1000, 1), _noise(600, 2)
    batch = extractor([long, short], return_tensors="pt")
    assert batch["input_values"].shape == (2, 1000) and batch["input_values"].dtype == torch.float32
    assert batch["attention_mask"].tolist() == [[1] * 1000, [1] * 600 + [0] * 400]
    assert torch.equal(batch["input_values"][0], torch.from_numpy(long))
    assert torch.equal(batch["input_values"][1, :600], torch.from_numpy(short))
    assert torch.all(batch["input_values"][1, 600:] == 0)


def test_single_item_and_flat_list_are_one_waveform(extractor):
    assert extractor(_noise(500))["input_values"].shape == (1, 500)
    assert extractor(_noise(500).tolist())["input_values"].shape == (1, 500)
    assert extractor([_noise(500), _noise(450)])["input_values"].shape == (2, 500)


def test_do_normalize_is_layer_norm_over_real_samples():
    extractor = Emotion2VecSFeatureExtractor(do_normalize=True, padding_value=0.5)
    items = [_noise(1000, 1) + 0.3, 2 * _noise(600, 2) - 0.1]
    batch = extractor(items)
    for values, mask, item in zip(batch["input_values"], batch["attention_mask"], items):
        length = int(mask.sum())
        expected = torch.nn.functional.layer_norm(torch.from_numpy(item), item.shape).numpy()
        diff = np.abs(values[:length] - expected).max()
        print(f"do_normalize vs F.layer_norm, {length} samples: max abs diff {diff:.3e}")
        assert diff <= 1e-6
        assert np.all(values[length:] == 0.5)
    assert not np.allclose(extractor(items, do_normalize=False)["input_values"][0], batch["input_values"][0])


def test_int16_is_scaled_like_float(extractor):
    pcm = (np.random.default_rng(3).integers(-32768, 32768, 800)).astype(np.int16)
    from_int = extractor(pcm)["input_values"][0]
    np.testing.assert_array_equal(from_int, pcm.astype(np.float32) / 32768)


def test_stereo_either_layout_averages_channels_with_a_warning(extractor):
    stereo = _noise(700, 4, channels=2)
    expected = stereo.mean(axis=0)
    for layout in (stereo, stereo.T, torch.from_numpy(stereo)):
        with pytest.warns(UserWarning, match=r"audio\[0\]: array of shape \(\d+, \d+\) taken as 2 channels"):
            values = extractor(layout)["input_values"][0]
        np.testing.assert_allclose(values, expected, atol=1e-7)


def test_array_at_44k1_is_resampled_with_torchaudio(extractor):
    audio = _noise(44100, 5)
    values = extractor(audio, sampling_rate=44100)["input_values"][0]
    expected = torchaudio.functional.resample(torch.from_numpy(audio), 44100, 16000).numpy()
    diff = np.abs(values - expected).max()
    print(f"44.1 kHz array vs torchaudio.functional.resample: max abs diff {diff:.3e}")
    assert values.shape == (16000,) and diff == 0


def test_stereo_44k1_wav_file_is_mono_16k(extractor, tmp_path):
    stereo = _noise(22050, 6, channels=2)
    path = tmp_path / "stereo_44k1.wav"
    sf.write(path, stereo.T, 44100, subtype="FLOAT")
    batch = extractor([str(path), path])
    expected = torchaudio.functional.resample(torch.from_numpy(stereo.mean(axis=0)), 44100, 16000).numpy()
    diff = np.abs(batch["input_values"][0] - expected).max()
    print(f"44.1 kHz stereo WAV vs mean + torchaudio resample: max abs diff {diff:.3e}")
    assert batch["input_values"].shape == (2, 8000) and diff <= 1e-6
    np.testing.assert_array_equal(batch["input_values"][0], batch["input_values"][1])


def test_int16_wav_file(extractor, tmp_path):
    pcm = (np.random.default_rng(7).integers(-20000, 20000, 1600)).astype(np.int16)
    path = tmp_path / "pcm16.wav"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(extractor(path)["input_values"][0], pcm.astype(np.float32) / 32768)


def _error(extractor, raw_speech, **kwargs):
    with pytest.raises(AudioInputError) as info:
        extractor(raw_speech, **kwargs)
    return str(info.value)


def test_bad_arrays_are_named(extractor):
    ok = _noise(500)
    assert _error(extractor, [ok, np.zeros(0, np.float32)]) == "audio[1]: is empty (0 samples)"
    message = _error(extractor, [ok, _noise(399)])
    assert message.startswith("audio[1]: has 399 samples") and "minimum of 400" in message
    with_nan = _noise(500)
    with_nan[[3, 10, 20]] = np.nan
    assert _error(extractor, [ok, ok, with_nan]) == "audio[2]: contains 3 NaN/Inf samples"
    with_inf = _noise(500)
    with_inf[0], with_inf[5] = np.inf, -np.inf
    assert _error(extractor, with_inf) == "audio[0]: contains 2 NaN/Inf samples"
    assert _error(extractor, ok.astype(np.int64)).startswith("audio[0]: unsupported dtype int64")
    assert "shape (100, 200)" in _error(extractor, np.zeros((100, 200), np.float32))
    assert "sampling_rate must be a positive int" in _error(extractor, ok, sampling_rate=0)


def test_bad_files_are_named(extractor, tmp_path):
    missing = tmp_path / "missing.wav"
    assert _error(extractor, [_noise(500), missing]) == f"{missing}: file does not exist"
    garbage = tmp_path / "x.wav"
    garbage.write_bytes(b"this is not audio" * 20)
    message = _error(extractor, str(garbage))
    assert message.startswith(f"{garbage}: could not be decoded as audio")


def test_batch_helper_names_items_and_keeps_rate():
    waveforms = to_mono_16k_batch([_noise(300), _noise(300).tolist()], sampling_rate=16000)
    assert [w.shape for w in waveforms] == [(300,), (300,)] and all(w.dtype == np.float32 for w in waveforms)
    with pytest.raises(AudioInputError, match=r"^audio\[1\]: has 300 samples"):
        to_mono_16k_batch([_noise(400), _noise(300)], min_samples=400)
    assert to_mono_16k(np.array([0, 128, 255], np.uint8)).tolist() == [-1.0, 0.0, 127 / 128]


def test_save_and_load_keeps_settings(tmp_path):
    extractor = Emotion2VecSFeatureExtractor(do_normalize=True, min_samples=800)
    extractor.save_pretrained(tmp_path)
    assert (tmp_path / "preprocessor_config.json").is_file()
    loaded = Emotion2VecSFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.do_normalize is True and loaded.min_samples == 800 and loaded.to_dict() == extractor.to_dict()
    audio = _noise(900)
    np.testing.assert_array_equal(loaded(audio)["input_values"], extractor(audio)["input_values"])


def test_files_without_audio_say_so_in_one_plain_line(extractor, tmp_path):
    empty, header_only, garbage = tmp_path / "empty.wav", tmp_path / "header_only.wav", tmp_path / "garbage.wav"
    empty.write_bytes(b"")
    sf.write(header_only, np.zeros(0, dtype=np.int16), 16000)
    garbage.write_bytes(b"RIFF this is not audio" * 20)
    for path, message in ((empty, "is an empty file (0 bytes), no audio"),
                          (header_only, "has no audio (the file holds no samples)"),
                          (garbage, "could not be decoded as audio (")):
        with pytest.raises(AudioInputError) as error:
            extractor(str(path))
        text = str(error.value)
        print(text)
        assert text.startswith(f"{path}: {message}") and "\n" not in text
        assert not re.search(r"\.(cpp|cc|h):\d+", text), text
