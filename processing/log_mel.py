"""The released log-mel (docs/fidelity.md#front-end) for a whole batch in one torch call, on any device.

transformers' `WhisperFeatureExtractor` computes it one clip at a time in numpy (the processor's default). Here the
clips are computed together where the model runs, so on a GPU the features never make a round trip through the
CPU. A batched STFT would let each clip's last frames see the next clip's padding instead of the reflection that
`center=True` gives it, and the dynamic-range floor would run over the whole batch: so each clip is reflected by
itself before the batch is padded, the STFT runs uncentred, and the floor is taken over each clip's own frames.
"""

import torch


def log_mel_batch(waveforms: list, mel_filters, n_fft: int, hop_length: int, device) -> tuple:
    """(features (batch, n_mels, frames) float32, frame mask (batch, frames) int32) of 1-D waveforms (tensors or
    arrays) at the feature extractor's rate: per clip `len // hop_length` frames, zero on the padding after them,
    as `WhisperFeatureExtractor(padding="do_not_pad")` per clip and then padded."""
    half = n_fft // 2
    clips = [torch.as_tensor(w).to(device=device, dtype=torch.float32) for w in waveforms]
    # centred framing is a reflection of `half` samples at both ends of each clip
    reflected = [torch.nn.functional.pad(clip[None, None], (half, half), mode="reflect")[0, 0] for clip in clips]
    batch = torch.nn.utils.rnn.pad_sequence(reflected, batch_first=True)
    window = torch.hann_window(n_fft, device=device)
    power = torch.stft(batch, n_fft, hop_length, window=window, center=False, return_complex=True).abs() ** 2
    frames = torch.tensor([len(clip) // hop_length for clip in clips], device=device)  # the last frame is dropped
    power = power[..., : int(frames.max())]
    filters = torch.as_tensor(mel_filters).to(device=device, dtype=torch.float32)
    log_mel = (filters.T @ power).clamp(min=1e-10).log10()
    real = torch.arange(power.shape[-1], device=device)[None, :] < frames[:, None]
    peak = log_mel.masked_fill(~real[:, None], float("-inf")).amax(dim=(1, 2), keepdim=True)
    log_mel = (torch.maximum(log_mel, peak - 8.0) + 4.0) / 4.0
    return log_mel.masked_fill(~real[:, None], 0.0), real.to(torch.int32)


__all__ = ["log_mel_batch"]
