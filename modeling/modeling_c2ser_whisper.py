"""The Whisper encoder as C2SER runs it: on variable-length log-mel input.

transformers' `WhisperEncoder` only takes exactly `2 * max_source_positions` mel frames (30 s) and ignores padding
masks. `C2SERWhisperEncoder` subclasses it, keeping every weight name, so Whisper checkpoints and converted C2SER
weights load unchanged, and replaces only `forward`: each item keeps its own length, a padded batch gives the same
frames as one-by-one inference, and for a full 30 s unpadded input the result is that of `WhisperEncoder.forward`.
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_outputs import ModelOutput
from transformers.models.whisper.modeling_whisper import WhisperEncoder
from transformers.processing_utils import Unpack
from transformers.utils import TransformersKwargs
from transformers.utils.output_capturing import capture_outputs

from .speech_lengths import encoder_lengths


@dataclass
class C2SERWhisperEncoderOutput(ModelOutput):
    """
    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch, frames, d_model)`): encoder output (50 Hz), with
            `frames = ceil(longest item's T_mel / 2)`; padded frames are zero.
        frame_mask (`torch.BoolTensor` of shape `(batch, frames)`): True on real encoder frames, False on padding.
        hidden_states (`tuple(torch.FloatTensor)`): with `output_hidden_states=True`, the embeddings and each layer's
            output as `WhisperEncoder` returns them, the last one replaced by `last_hidden_state`; only that last one
            has its padded frames zeroed.
        attentions (`tuple(torch.FloatTensor)`): with `output_attentions=True` (eager attention), each layer's weights.
    """

    last_hidden_state: torch.FloatTensor | None = None
    frame_mask: torch.BoolTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


class C2SERWhisperEncoder(WhisperEncoder):
    """`WhisperEncoder` (same weights) on right-padded mel of any length up to `2 * max_source_positions` frames."""

    # the per-item length checks read lengths on the host
    _can_compile_fullgraph = False

    def _mel_lengths(self, input_features: torch.Tensor, feature_attention_mask: torch.Tensor | None) -> torch.Tensor:
        """T_mel per item (the mask sums, or the full width without a mask), checked against what the encoder takes."""
        if input_features.dim() != 3 or input_features.shape[1] != self.config.num_mel_bins:
            raise ValueError(
                f"input_features must be (batch, {self.config.num_mel_bins} mel bins, frames), "
                f"got shape {tuple(input_features.shape)}"
            )
        batch, width = input_features.shape[0], input_features.shape[2]
        if feature_attention_mask is None:
            lengths = torch.full((batch,), width, dtype=torch.long, device=input_features.device)
        else:
            if tuple(feature_attention_mask.shape) != (batch, width):
                raise ValueError(
                    f"feature_attention_mask must be (batch, frames) = {(batch, width)} like input_features, "
                    f"got shape {tuple(feature_attention_mask.shape)}"
                )
            mask = feature_attention_mask.bool()
            lengths = mask.long().sum(-1)
            right_padded = torch.arange(width, device=mask.device)[None, :] < lengths[:, None]
            left_or_inner_padding = (mask != right_padded).any(-1)
            if left_or_inner_padding.any():
                raise ValueError(
                    "feature_attention_mask must be right-padded (1s then 0s); input item(s) "
                    f"{left_or_inner_padding.nonzero().flatten().tolist()} are not"
                )
        empty = (lengths < 1).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"input item(s) {empty} have no mel frames; each item needs at least 1")
        too_long = (encoder_lengths(lengths) > self.max_source_positions).nonzero().flatten().tolist()
        if too_long:
            raise ValueError(
                f"input item(s) {too_long} have {lengths[too_long].tolist()} mel frames; the encoder takes at most "
                f"{2 * self.max_source_positions} (max_source_positions={self.max_source_positions} encoder frames, "
                "30 s for Whisper); split longer audio into windows"
            )
        return lengths

    @capture_outputs
    def forward(
        self,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> C2SERWhisperEncoderOutput:
        r"""
        input_features (`torch.FloatTensor` of shape `(batch, num_mel_bins, frames)`): log-mel features, right-padded,
            of any length up to `2 * max_source_positions` frames per item (no 30 s padding needed).
        feature_attention_mask (`torch.Tensor` of shape `(batch, frames)`, *optional*): 1 on real mel frames, 0 on
            the padding at the end. Without it every item is `frames` long.
        output_hidden_states, output_attentions (`bool`, *optional*, keyword only): as in `WhisperEncoder`.
        """
        if "attention_mask" in kwargs:
            raise ValueError("pass the mel padding mask as feature_attention_mask, not attention_mask")
        # the released model runs Whisper on variable-length mel with positions pe[:T_enc] (docs/fidelity.md#whisper)
        mel_lengths = self._mel_lengths(input_features, feature_attention_mask)
        lengths = encoder_lengths(mel_lengths)

        # Zero padding before each convolution, so each item's edge sees the zeros its own conv padding would give
        # (GELU(conv1(zeros)) is not zero, hence the second mask).
        input_features = input_features[..., : int(mel_lengths.max())]
        mel_pad = torch.arange(input_features.shape[-1], device=input_features.device)[None, :] >= mel_lengths[:, None]
        hidden_states = nn.functional.gelu(self.conv1(input_features.masked_fill(mel_pad[:, None], 0)))
        hidden_states = nn.functional.gelu(self.conv2(hidden_states.masked_fill(mel_pad[:, None], 0)))
        hidden_states = hidden_states.transpose(1, 2)

        frame_mask = torch.arange(hidden_states.shape[1], device=hidden_states.device)[None, :] < lengths[:, None]
        hidden_states = hidden_states + self.embed_positions.weight[: hidden_states.shape[1]]
        hidden_states = nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)

        # None when nothing is padded; otherwise padded keys masked in the form config._attn_implementation takes
        attention_mask = create_bidirectional_mask(self.config, hidden_states, frame_mask)
        for encoder_layer in self.layers:
            if self.training and self.layerdrop > 0.0 and torch.rand([]) < self.layerdrop:
                continue
            hidden_states = encoder_layer(hidden_states, attention_mask, **kwargs)
        hidden_states = self.layer_norm(hidden_states)

        # zeros on padded frames, so what comes next sees the same zero padding an item alone would get
        hidden_states = hidden_states.masked_fill(~frame_mask[..., None], 0)
        return C2SERWhisperEncoderOutput(last_hidden_state=hidden_states, frame_mask=frame_mask)


__all__ = ["C2SERWhisperEncoder", "C2SERWhisperEncoderOutput"]
