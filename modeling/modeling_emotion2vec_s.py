"""Emotion2Vec-S (and emotion2vec) as a transformers model.

data2vec 2.0 audio (docs/fidelity.md#acoustic-tokens): waveform CNN → LayerNorm + Linear → grouped positional
convolutions → learned extra tokens → post-LN transformer blocks with a symmetric ALiBi bias. The CNN, projection,
positional conv layer and transformer block are transformers' own Data2VecAudio modules; this file adds what
data2vec 2.0 has on top (extra tokens, ALiBi with its learned scale) and padding handling that makes a padded batch
equal one-by-one inference.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ModelOutput, SequenceClassifierOutput
from transformers.models.data2vec.modeling_data2vec_audio import (
    Data2VecAudioEncoderLayer,
    Data2VecAudioFeatureEncoder,
    Data2VecAudioFeatureProjection,
    Data2VecAudioPositionalConvLayer,
)

from .auto_map import map_auto_model_to
from .configuration_emotion2vec_s import UTTERANCE_SOURCES, Emotion2VecSConfig


def alibi_slopes(num_heads: int) -> list[float]:
    """Per-head ALiBi slopes; for a head count that is not a power of two, fairseq's interleaving rule: the slopes of
    the largest power of two below it, then every other slope of twice that many."""

    def power_of_two_slopes(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(num_heads).is_integer():
        return power_of_two_slopes(num_heads)
    closest = 2 ** math.floor(math.log2(num_heads))
    return power_of_two_slopes(closest) + alibi_slopes(2 * closest)[0::2][: num_heads - closest]


@dataclass
class Emotion2VecSModelOutput(ModelOutput):
    """
    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch, frames, hidden)`): frame features (50 Hz).
        utterance_features (`torch.FloatTensor`): `(batch, hidden)` for `"mean"`, `(batch, num_extra_tokens, hidden)`
            for `"extra_tokens"` and `"first_frames"`.
        frame_mask (`torch.BoolTensor` of shape `(batch, frames)`): True on real frames, False on padding.
        extra_tokens (`torch.FloatTensor` of shape `(batch, num_extra_tokens, hidden)`): outputs at the learned tokens.
        hidden_states (`tuple(torch.FloatTensor)`): frame features after the input norm and after each block
            (extra tokens removed), when `output_hidden_states=True`.
    """

    last_hidden_state: torch.FloatTensor | None = None
    utterance_features: torch.FloatTensor | None = None
    frame_mask: torch.BoolTensor | None = None
    extra_tokens: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


class Emotion2VecSPositionalConvEmbedding(nn.Module):
    """data2vec 2.0's stack of grouped conv layers. Padded frames are zeroed before every layer, so the zero padding
    each conv sees at a sequence's end is the same in a padded batch as for the sequence alone."""

    def __init__(self, config: Emotion2VecSConfig):
        super().__init__()
        self.layers = nn.ModuleList(
            [Data2VecAudioPositionalConvLayer(config) for _ in range(config.num_conv_pos_embeddings)]
        )

    def forward(self, hidden_states: torch.Tensor, frame_mask: torch.Tensor | None) -> torch.Tensor:
        hidden_states = hidden_states.transpose(1, 2)
        keep = None if frame_mask is None else frame_mask[:, None, :].to(hidden_states.dtype)
        for layer in self.layers:
            if keep is not None:
                hidden_states = hidden_states * keep
            hidden_states = layer(hidden_states)
        return hidden_states.transpose(1, 2)


class Emotion2VecSEncoder(nn.Module):
    """Positional conv, extra tokens, input LayerNorm and all post-LN blocks (prenet then main: one list, as the
    converter maps the release's two groups of blocks)."""

    def __init__(self, config: Emotion2VecSConfig):
        super().__init__()
        self.config = config
        self.pos_conv_embed = Emotion2VecSPositionalConvEmbedding(config)
        self.extra_tokens = (
            nn.Parameter(torch.zeros(1, config.num_extra_tokens, config.hidden_size))
            if config.num_extra_tokens > 0
            else None
        )
        self.alibi_scale = (
            nn.Parameter(
                torch.ones(
                    config.num_hidden_layers if config.alibi_scale_per_layer else 1,
                    1,
                    config.num_attention_heads if config.alibi_scale_per_head else 1,
                    1,
                    1,
                )
            )
            if config.use_alibi
            else None
        )
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layers = nn.ModuleList([Data2VecAudioEncoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def attention_biases(self, frame_mask: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor | None]:
        """One additive attention mask per block, (batch, heads, L, L) with L = extra tokens + frames: ALiBi over the
        frame positions only (the extra tokens get 0 bias), scaled by the clamped learned scale, and the dtype's
        minimum on padded keys."""
        batch, frames = frame_mask.shape
        n_extra = self.config.num_extra_tokens
        key_is_pad = nn.functional.pad(~frame_mask, (n_extra, 0), value=False)
        padding = torch.zeros(batch, 1, 1, n_extra + frames, dtype=dtype, device=frame_mask.device)
        padding = padding.masked_fill(key_is_pad[:, None, None, :], torch.finfo(dtype).min)
        if self.alibi_scale is None:
            return [padding] * len(self.layers)

        positions = torch.arange(frames, device=frame_mask.device, dtype=torch.float32)
        distance = -(positions[None, :] - positions[:, None]).abs()
        slopes = torch.tensor(alibi_slopes(self.config.num_attention_heads), device=frame_mask.device)
        bias = slopes[:, None, None] * distance  # (heads, frames, frames)
        scales = self.alibi_scale.float().clamp_min(0).view(self.alibi_scale.shape[0], -1, 1, 1)
        per_scale = [
            (nn.functional.pad(bias * scale, (n_extra, 0, n_extra, 0))[None].to(dtype) + padding)
            .clamp_min(torch.finfo(dtype).min)
            for scale in scales
        ]
        if len(per_scale) == 1:
            return per_scale * len(self.layers)
        return per_scale

    def forward(
        self,
        hidden_states: torch.Tensor,
        frame_mask: torch.Tensor,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, ...] | None]:
        n_extra = self.config.num_extra_tokens
        hidden_states = hidden_states * frame_mask[..., None].to(hidden_states.dtype)
        hidden_states = hidden_states + self.pos_conv_embed(hidden_states, frame_mask)
        if self.extra_tokens is not None:
            tokens = self.extra_tokens.to(hidden_states.dtype).expand(hidden_states.shape[0], -1, -1)
            hidden_states = torch.cat([tokens, hidden_states], dim=1)
        hidden_states = self.layer_norm(hidden_states)
        hidden_states = self.dropout(hidden_states)

        biases = self.attention_biases(frame_mask, hidden_states.dtype)
        all_hidden = [] if output_hidden_states else None
        if all_hidden is not None:
            hidden_states = self._recorded_frames(hidden_states, all_hidden)
        for layer, bias in zip(self.layers, biases):
            if self.training and self.config.layerdrop > 0 and torch.rand([]) < self.config.layerdrop:
                continue
            # the bias goes in as an input of the layer, not a keyword: reentrant checkpointing then returns its
            # gradient, instead of back-propagating inside each layer's backward into the one ALiBi graph that every
            # layer shares (a second backward through it fails)
            hidden_states = layer(hidden_states, bias)
            if all_hidden is not None:
                hidden_states = self._recorded_frames(hidden_states, all_hidden)

        extra = hidden_states[:, :n_extra] if n_extra > 0 else None
        return hidden_states[:, n_extra:], extra, tuple(all_hidden) if all_hidden is not None else None

    def _recorded_frames(self, hidden_states: torch.Tensor, recorded: list) -> torch.Tensor:
        """Append the frames of `hidden_states` (extra tokens removed) to `recorded` and return the sequence rebuilt
        from them, so that each recorded state lies on the graph of the output (a gradient reaches it when retained)."""
        n_extra = self.config.num_extra_tokens
        frames = hidden_states[:, n_extra:]
        recorded.append(frames)
        return torch.cat([hidden_states[:, :n_extra], frames], dim=1) if n_extra > 0 else frames


class Emotion2VecSPreTrainedModel(PreTrainedModel):
    config_class = Emotion2VecSConfig
    config: Emotion2VecSConfig
    base_model_prefix = "emotion2vec_s"
    main_input_name = "input_values"
    input_modalities = "audio"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    # the per-head ALiBi bias is a dense additive mask: flash attention cannot take it
    _supports_flash_attn = False
    _supports_flex_attn = False
    # a pretraining folder (Emotion2VecSForPreTraining) also holds its decoder and EMA teacher: not the encoder's
    _keys_to_ignore_on_load_unexpected = [r"^decoder\.", r"^teacher\."]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, Emotion2VecSEncoder):
            if module.extra_tokens is not None:
                init.normal_(module.extra_tokens)
            if module.alibi_scale is not None:
                init.ones_(module.alibi_scale)
        elif isinstance(module, Data2VecAudioFeatureProjection):
            bound = math.sqrt(1 / module.projection.in_features)
            init.uniform_(module.projection.weight, a=-bound, b=bound)
            init.uniform_(module.projection.bias, a=-bound, b=bound)
        elif isinstance(module, Data2VecAudioPositionalConvLayer):
            init.kaiming_normal_(module.conv.weight)
            init.zeros_(module.conv.bias)
        elif isinstance(module, nn.Conv1d):
            init.kaiming_normal_(module.weight)

    def _get_feat_extract_output_lengths(self, input_lengths: torch.Tensor) -> torch.Tensor:
        for kernel, stride in zip(self.config.conv_kernel, self.config.conv_stride):
            input_lengths = torch.div(input_lengths - kernel, stride, rounding_mode="floor") + 1
        return input_lengths


class Emotion2VecSModel(Emotion2VecSPreTrainedModel):
    def __init__(self, config: Emotion2VecSConfig):
        super().__init__(config)
        self.feature_extractor = Data2VecAudioFeatureEncoder(config)
        # it marks its input as needing grad in any training-mode call; `_encode` does it only when the CNN trains
        self.feature_extractor._requires_grad = False
        self.feature_projection = Data2VecAudioFeatureProjection(config)
        self.encoder = Emotion2VecSEncoder(config)
        # padded inference batches on a CPU run item by item (`_run_items_separately`); False runs them as one batch
        # there too, as on accelerators (the same features)
        self.cpu_items_one_by_one = True
        self.post_init()

    def freeze_feature_encoder(self):
        self.feature_extractor._freeze_parameters()

    def forward(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        utterance_source: str | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Emotion2VecSModelOutput | tuple:
        r"""
        input_values (`torch.FloatTensor` of shape `(batch, samples)`): 16 kHz mono waveforms, right-padded.
        attention_mask (`torch.LongTensor` of shape `(batch, samples)`): 1 on real samples, 0 on the padding at the
            end. Padded items give the same features as when run alone.
        utterance_source (`str`, *optional*): overrides `config.utterance_source` for this call.
        """
        source = utterance_source or self.config.utterance_source
        if source not in UTTERANCE_SOURCES:
            raise ValueError(f"utterance_source must be one of {UTTERANCE_SOURCES}, got {source!r}")
        if input_values.dim() != 2:
            raise ValueError(
                f"input_values must be (batch, samples) mono 16 kHz waveforms, got shape {tuple(input_values.shape)}"
            )
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict

        if attention_mask is None:
            attention_mask = torch.ones(input_values.shape, dtype=torch.long, device=input_values.device)
        sample_lengths = attention_mask.long().sum(-1)
        lengths = self._get_feat_extract_output_lengths(sample_lengths)
        too_short = (lengths < 1).nonzero().flatten().tolist()
        if too_short:
            raise ValueError(
                f"input item(s) {too_short} have fewer samples than one frame needs "
                f"({self.config.receptive_field} at 16 kHz)"
            )

        if self._run_items_separately(input_values, sample_lengths):
            parts = [
                self._encode(input_values[i : i + 1, :n], output_hidden_states)
                for i, n in enumerate(sample_lengths.tolist())
            ]
            frames = nn.utils.rnn.pad_sequence([part[0][0] for part in parts], batch_first=True)
            extra = None if parts[0][1] is None else torch.cat([part[1] for part in parts])
            hidden_states = None
            if output_hidden_states:
                hidden_states = tuple(
                    nn.utils.rnn.pad_sequence([part[2][k][0] for part in parts], batch_first=True)
                    for k in range(len(parts[0][2]))
                )
        else:
            frames, extra, hidden_states = self._encode(input_values, output_hidden_states, lengths)
        frame_mask = torch.arange(frames.shape[1], device=frames.device)[None, :] < lengths[:, None]

        utterance = self.utterance_features(frames, frame_mask, extra, source)
        output = Emotion2VecSModelOutput(
            last_hidden_state=frames,
            utterance_features=utterance,
            frame_mask=frame_mask,
            extra_tokens=extra,
            hidden_states=hidden_states,
        )
        return output if return_dict else output.to_tuple()

    def _run_items_separately(self, input_values: torch.Tensor, sample_lengths: torch.Tensor) -> bool:
        """Padded inference batches on CPU run item by item: there the matrix products are already efficient at batch
        1 and the padded frames (and the larger working set) only cost, measured 0.76x one-by-one speed with 11%
        padding. On accelerators the batch is computed as one, its CNN on the items packed end to end."""
        return (
            self.cpu_items_one_by_one
            and not self.training
            and input_values.device.type == "cpu"
            and input_values.shape[0] > 1
            and bool((sample_lengths != input_values.shape[1]).any())
        )

    def _encode(self, input_values, output_hidden_states, frame_lengths=None):
        # A frozen tower (no parameter to train, no gradient wanted at the waveform) builds no graph: with the Data2Vec
        # encoder's own marking of the waveform (see `_cnn_input`), every step of C2SER training back-propagated
        # through the whole frozen tower for nothing.
        graph = torch.is_grad_enabled() and (
            input_values.requires_grad or any(p.requires_grad for p in self.parameters())
        )
        with torch.set_grad_enabled(graph):
            return self._encode_frames(self._cnn_input(input_values), output_hidden_states, frame_lengths)

    def _cnn_input(self, input_values: torch.Tensor) -> torch.Tensor:
        """The waveform, marked as needing grad in training mode when the CNN trains: reentrant gradient checkpointing
        of the CNN's layers returns no graph otherwise (transformers' Data2Vec feature encoder marked it on every
        training-mode call)."""
        if torch.is_grad_enabled() and self.training and not input_values.requires_grad:
            if any(p.requires_grad for p in self.feature_extractor.parameters()):
                return input_values.detach().requires_grad_(True)
        return input_values

    def _encode_frames(self, input_values, output_hidden_states, frame_lengths):
        width = self._get_feat_extract_output_lengths(torch.tensor(input_values.shape[1]))
        if frame_lengths is None or bool((frame_lengths == width.to(frame_lengths.device)).all()):
            features, _ = self.feature_projection(self.feature_extractor(input_values).transpose(1, 2))
            frame_lengths = torch.full((features.shape[0],), features.shape[1], device=features.device)
        else:
            features = self._packed_frame_features(input_values, frame_lengths)
        frame_mask = torch.arange(features.shape[1], device=features.device)[None, :] < frame_lengths[:, None]
        return self.encoder(features, frame_mask, output_hidden_states=output_hidden_states)

    def _packed_frame_features(self, input_values: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """CNN + projection of a right-padded batch, (batch, frames, hidden) with zeros after each item's frames,
        computed on the items laid end to end instead of on the padded batch. Each item starts on the CNN's frame
        grid (a multiple of its total stride) and the CNN and projection act on each frame's own samples only, so
        every item's frames are those it gets alone, and no padding is computed."""
        hop = self.config.inputs_to_logits_ratio
        counts = frame_lengths.tolist()
        # an item uses the samples its frames need; its slot ends on the next grid line
        used = [self.config.samples_for_frames(count) for count in counts]
        slots = [-(-n // hop) * hop for n in used]
        packed = torch.cat([nn.functional.pad(input_values[i, :n], (0, slot - n))
                            for i, (n, slot) in enumerate(zip(used, slots))])
        features, _ = self.feature_projection(self.feature_extractor(packed[None]).transpose(1, 2))
        starts = [sum(slots[:i]) // hop for i in range(len(slots))]
        return nn.utils.rnn.pad_sequence([features[0, a : a + n] for a, n in zip(starts, counts)], batch_first=True)

    def utterance_features(
        self, frames: torch.Tensor, frame_mask: torch.Tensor, extra: torch.Tensor | None, source: str
    ) -> torch.Tensor:
        if source == "mean":
            weights = frame_mask[..., None].to(frames.dtype)
            return (frames * weights).sum(1) / weights.sum(1)
        if source == "extra_tokens":
            return extra
        count = self.config.num_extra_tokens
        lengths = frame_mask.sum(-1)
        short = (lengths < count).nonzero().flatten().tolist()
        if short:
            raise ValueError(
                f"utterance_source='first_frames' needs at least {count} frames; input item(s) {short} have "
                f"{lengths[short].tolist()} (each frame is {self.config.inputs_to_logits_ratio} samples)"
            )
        # released C2SER behaviour (docs/fidelity.md#acoustic-tokens): the first frame vectors, not the learned tokens
        return frames[:, :count]


class Emotion2VecSClassificationHead(nn.Module):
    """Fully connected layers with ReLU and dropout between them (the paper's three FC layers with two hidden
    widths; one linear layer with none)."""

    def __init__(self, config: Emotion2VecSConfig):
        super().__init__()
        widths = [config.hidden_size, *config.classifier_hidden_sizes]
        self.dense = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.out_proj = nn.Linear(widths[-1], config.num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        for layer in self.dense:
            pooled = self.dropout(nn.functional.relu(layer(pooled)))
        return self.out_proj(pooled)


class Emotion2VecSForSequenceClassification(Emotion2VecSPreTrainedModel):
    def __init__(self, config: Emotion2VecSConfig):
        super().__init__(config)
        self.emotion2vec_s = Emotion2VecSModel(config)
        self.classifier = Emotion2VecSClassificationHead(config)
        self.post_init()

    def save_pretrained(self, save_directory, *args, **kwargs):
        map_auto_model_to(self, Emotion2VecSModel)
        return super().save_pretrained(save_directory, *args, **kwargs)

    def freeze_base_model(self):
        for param in self.emotion2vec_s.parameters():
            param.requires_grad = False

    def forward(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        labels (`torch.LongTensor` of shape `(batch,)`): class indices; cross-entropy loss when given.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        source = "extra_tokens" if self.config.classifier_pooling == "extra_tokens" else "mean"
        outputs = self.emotion2vec_s(
            input_values,
            attention_mask=attention_mask,
            utterance_source=source,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        pooled = outputs.utterance_features
        if pooled.dim() == 3:
            pooled = pooled.mean(1)
        logits = self.classifier(pooled)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        output = SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)
        return output if return_dict else output.to_tuple()


__all__ = [
    "Emotion2VecSModel",
    "Emotion2VecSForSequenceClassification",
    "Emotion2VecSPreTrainedModel",
]
