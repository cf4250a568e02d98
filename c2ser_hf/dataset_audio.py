"""16 kHz mono waveforms from the audio values of `datasets` rows (torchcodec decoders or array dicts)."""

import numpy as np

from .processing.audio_input import AudioInputError, to_mono_16k


def row_waveform(value, name: str, min_samples: int = 0) -> np.ndarray:
    """Decode one `Audio` column value: a torchcodec `AudioDecoder` (datasets >= 4) or `{"array", "sampling_rate"}`.
    Raises `AudioInputError` naming `name` when it cannot be decoded or is too short."""
    if hasattr(value, "get_all_samples"):
        try:
            samples = value.get_all_samples()
        except RuntimeError as error:
            detail = " ".join(str(error).split())[-160:]
            raise AudioInputError(f"{name}: could not be decoded as audio ({detail})") from error
        # decoders give (channels, samples): average the channels here, where the layout is known
        return to_mono_16k(samples.data.mean(0), samples.sample_rate, name=name, min_samples=min_samples)
    if isinstance(value, dict) and "array" in value:
        return to_mono_16k(value["array"], value.get("sampling_rate"), name=name, min_samples=min_samples)
    raise AudioInputError(f"{name}: expected a decoded audio value, got {type(value).__name__}")
