"""The released front end written from its description (docs/fidelity.md#front-end, #resampling) with the torch,
librosa and torchaudio calls the official code makes: a reference for our log-mel and waveforms."""

import librosa
import torch
import torchaudio


def reference_log_mel(waveform: torch.Tensor) -> torch.Tensor:
    """docs/fidelity.md#front-end → (T_mel, 80)."""
    stft = torch.stft(waveform, n_fft=400, hop_length=160, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
    log_spec = torch.clamp(filters @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).T


def official_waveforms(path, folder):
    """What the official code reads from an audio file: (Whisper-branch waveform, Emotion2Vec-S waveform, the file's
    rate). Decoded with `torchaudio.load`, channels averaged; the Whisper branch resamples with `transforms.Resample`,
    writes a WAV to `folder` and reads it back; Emotion2Vec-S resamples the decoded samples with
    `functional.resample`."""
    decoded, rate = torchaudio.load(path)
    decoded = decoded.mean(dim=0, keepdim=True)
    torchaudio.save(folder / "resample.wav", torchaudio.transforms.Resample(rate, 16000)(decoded), 16000)
    whisper, _ = torchaudio.load(folder / "resample.wav")
    return whisper[0], torchaudio.functional.resample(decoded, rate, 16000)[0], rate
