"""Feature extractor of Emotion2Vec-S: raw 16 kHz mono waveforms, padded, with an attention mask."""

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.utils import PaddingStrategy, TensorType

from .audio_input import to_mono_16k_batch
from .emotion2vec_s_frames import receptive_field_samples


class Emotion2VecSFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Turns audio into the `input_values` of Emotion2Vec-S: mono float32 waveforms at 16 kHz, right-padded with
    `padding_value`, plus an `attention_mask` (1 = real sample).

    Args:
        feature_size (`int`): 1 (one value per sample).
        sampling_rate (`int`): rate the model was trained at (16000); other rates are resampled to it.
        padding_value (`float`): value of padded samples.
        do_normalize (`bool`): layer-normalise each waveform over its real samples, `(x - mean) / sqrt(var + 1e-5)`,
            as emotion2vec checkpoints with `normalize: true` expect. Off by default: released C2SER feeds
            Emotion2Vec-S the raw waveform (docs/fidelity.md#acoustic-tokens).
        return_attention_mask (`bool`): return `attention_mask` by default.
        min_samples (`int`): shortest accepted audio in samples at `sampling_rate`; 400 is the CNN's receptive field
            (`Emotion2VecSConfig.receptive_field`), below which the encoder produces no frame.
    """

    model_input_names = ["input_values", "attention_mask"]

    def __init__(
        self,
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=False,
        return_attention_mask=True,
        min_samples=receptive_field_samples(),
        **kwargs,
    ):
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )
        self.do_normalize = do_normalize
        self.min_samples = min_samples

    def __call__(
        self,
        raw_speech,
        sampling_rate: int | None = None,
        padding: bool | str | PaddingStrategy = True,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | TensorType | None = None,
        return_attention_mask: bool | None = None,
        do_normalize: bool | None = None,
        **kwargs,
    ) -> BatchFeature:
        """
        Args:
            raw_speech: one audio or a list of them; each a file path, or a numpy array / torch tensor / list of
                samples of any float or PCM integer dtype, mono or multi-channel (see `to_mono_16k`). A 2-D array is
                one multi-channel audio, not a batch.
            sampling_rate (`int`, *optional*): rate of array input; `None` means it is already at
                `self.sampling_rate`. Files are decoded at their own rate.
            padding, max_length, truncation, pad_to_multiple_of, return_tensors: as in
                [`~SequenceFeatureExtractor.pad`].
            return_attention_mask, do_normalize (`bool`, *optional*): override the extractor's defaults.

        Returns:
            [`BatchFeature`] with `input_values` (batch, samples) float32 and `attention_mask` (batch, samples) int32.

        Raises:
            AudioInputError (a `ValueError`): an item is unreadable, empty, non-finite or shorter than `min_samples`;
                the message names it (`audio[i]` or its path).
        """
        if truncation and max_length is not None and max_length < self.min_samples:
            raise ValueError(
                f"max_length={max_length} is below min_samples={self.min_samples}: truncated audio would be too short"
            )
        return_attention_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        waveforms = to_mono_16k_batch(raw_speech, sampling_rate, self.sampling_rate, self.min_samples)
        padded = self.pad_waveforms(
            waveforms, do_normalize, padding=padding, max_length=max_length, truncation=truncation,
            pad_to_multiple_of=pad_to_multiple_of,
        )
        if not return_attention_mask:
            del padded["attention_mask"]
        return BatchFeature(dict(padded), tensor_type=return_tensors or TensorType.NUMPY)

    def pad_waveforms(self, waveforms: list, do_normalize: bool | None = None, **pad_kwargs) -> BatchFeature:
        """`input_values` and `attention_mask` (numpy) of waveforms that are already mono float32 at `sampling_rate`
        and checked (as `to_mono_16k` returns them; `__call__` makes them so first, the C2SER processor has made them
        so itself): padded (`pad_kwargs` as in [`~SequenceFeatureExtractor.pad`]), layer-normalised with
        `do_normalize`."""
        do_normalize = self.do_normalize if do_normalize is None else do_normalize
        # The mask is always built: normalisation needs it to find the real samples.
        padded = self.pad(BatchFeature({"input_values": waveforms}), return_attention_mask=True, **pad_kwargs)
        if do_normalize:
            padded["input_values"] = [
                self._layer_norm(values, mask.astype(bool))
                for values, mask in zip(padded["input_values"], padded["attention_mask"])
            ]
        # numpy, as `pad` returns
        return BatchFeature(dict(padded), tensor_type=TensorType.NUMPY)

    @staticmethod
    def _layer_norm(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # emotion2vec's `normalize: true` is exactly F.layer_norm over the whole (unpadded) waveform.
        real = torch.from_numpy(np.ascontiguousarray(values[mask]))
        normalized = values.copy()
        normalized[mask] = torch.nn.functional.layer_norm(real, real.shape).numpy()
        return normalized


__all__ = ["Emotion2VecSFeatureExtractor"]
