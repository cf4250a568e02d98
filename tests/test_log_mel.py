"""The batched torch log-mel (`processing/log_mel.py`) that the processor computes on the model's device: the same
numbers as the default per-clip path, in a padded batch, for both branch waveforms of an official processor."""

import pytest
import torch

from c2ser_hf.processing import C2SERProcessor


@pytest.mark.parametrize("official", [False, True])
def test_device_log_mel_equals_the_per_clip_path(tester, official):
    processor = C2SERProcessor(tokenizer=tester.processor.tokenizer, official_whisper_waveform=official)
    clips = tester.clips([22050 * 30, 9000, 16001, 4600], seed=2)  # 30 s at 22.05 kHz fills the table
    default = processor(clips, sampling_rate=22050)
    on_device = processor(clips, sampling_rate=22050, device="cpu")
    assert set(on_device) == set(default)
    worst = 0.0
    for key, value in default.items():
        assert on_device[key].shape == value.shape and on_device[key].dtype == value.dtype, key
        worst = max(worst, (on_device[key].double() - value.double()).abs().max().item())
    print(f"official_whisper_waveform={official}: device log-mel vs per clip, max abs diff {worst:.2e}")
    assert default["input_features"].shape[-1] == 3000 and worst <= 1e-6


def test_device_needs_torch_tensors(tester):
    with pytest.raises(ValueError, match="device='cpu' computes torch tensors: it needs return_tensors='pt'"):
        tester.processor(tester.clips([8000]), device="cpu", return_tensors="np")
    assert isinstance(tester.processor(tester.clips([8000]), device="cpu")["input_features"], torch.Tensor)
