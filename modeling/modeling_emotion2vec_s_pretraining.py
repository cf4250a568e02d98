"""Emotion2Vec-S pretraining: emotion2vec's data2vec 2.0 self-distillation plus the category-level contrastive loss.

A student (`Emotion2VecSModel`) sees several block-masked copies of each clip with the masked frames removed; an EMA
teacher (a copy of the student's encoder, updated by the trainer through `update_teacher`) sees the whole clip. The
targets are the teacher's top blocks' feed-forward outputs, each instance-normalised over time, then averaged. Three
losses (docs/emotion2vec-training.md says where each follows data2vec 2.0 / emotion2vec and where it departs):

- L_frm: a small convolutional decoder predicts the targets of the masked frames from the student's output;
- L_utt: the learned utterance tokens regress the targets averaged over chunks of the clip;
- L_cate: a supervised contrastive loss on the mean-pooled student output G of the labelled clips.

L = L_frm + utterance_loss_weight * L_utt + category_loss_weight * L_cate.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers.modeling_outputs import ModelOutput

from .auto_map import map_auto_model_to
from .configuration_emotion2vec_s import Emotion2VecSConfig
from .modeling_emotion2vec_s import Emotion2VecSEncoder, Emotion2VecSModel, Emotion2VecSPreTrainedModel

UNLABELLED = -100


def block_time_mask(frame_mask: torch.Tensor, prob: float, length: int) -> torch.Tensor:
    """data2vec 2.0 block masking (docs/emotion2vec-training.md#masking), (batch, frames) bool, True = masked. Per row with L real frames:
    `int(prob * L / length + U[0, 1))` (at least 1) span starts drawn without replacement among the first
    `L - length` frames, spans of `length` frames cut at L; then every row keeps a random subset of its masked frames
    so that all rows mask the same number (the student drops masked frames, so rows must stay equally long).
    Padded frames are never masked."""
    batch, frames = frame_mask.shape
    lengths = frame_mask.sum(-1).tolist()
    mask = torch.zeros(batch, frames, dtype=torch.bool, device=frame_mask.device)
    chosen = []
    for row, real in enumerate(lengths):
        count = max(1, int(prob * real / length + torch.rand([]).item()))
        span = length if real - length > count else real - count - 1
        starts = torch.randperm(max(real - span, 1))[:count]
        positions = (starts[:, None] + torch.arange(length)[None, :]).flatten()
        chosen.append(torch.unique(positions[positions < real]))
    fewest = min(len(positions) for positions in chosen)
    for row, positions in enumerate(chosen):
        keep = positions[torch.randperm(len(positions))[:fewest]]
        mask[row, keep.to(mask.device)] = True
    return mask


def masked_instance_norm(hidden: torch.Tensor, frame_mask: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """`F.instance_norm` over time per clip and channel, with the statistics of the real frames only (equal to it
    without padding); padded frames come out as 0."""
    weights = frame_mask[..., None].to(hidden.dtype)
    count = weights.sum(1, keepdim=True)
    mean = (hidden * weights).sum(1, keepdim=True) / count
    variance = (((hidden - mean) * weights) ** 2).sum(1, keepdim=True) / count
    return (hidden - mean) / torch.sqrt(variance + eps) * weights


def chunk_means(hidden: torch.Tensor, frame_mask: torch.Tensor, chunks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The utterance tokens' targets (docs/emotion2vec-training.md#utterance-loss): means over `chunks` consecutive
    equal parts of each clip's real frames, chunk k of a clip with L real frames holding frames
    [k*L//chunks, (k+1)*L//chunks). Returns (batch, chunks, hidden) and a (batch, chunks) mask of the
    chunks that hold at least one frame (all of them when L >= chunks)."""
    lengths = frame_mask.sum(-1)
    positions = torch.arange(frame_mask.shape[1], device=hidden.device)
    bounds = (torch.arange(chunks + 1, device=hidden.device)[None, :] * lengths[:, None]) // chunks
    member = (positions[None, None, :] >= bounds[:, :-1, None]) & (positions[None, None, :] < bounds[:, 1:, None])
    counts = member.sum(-1)
    sums = member.to(hidden.dtype) @ hidden
    return sums / counts.clamp_min(1)[..., None], counts > 0


def category_contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """L_cate (docs/emotion2vec-training.md#category-loss): supervised contrastive loss (Khosla et al.'s L_out, CLIP's
    InfoNCE with every same-label clip a positive) on
    the labelled rows (label >= 0): cosine similarities / temperature; for each anchor with at least one positive,
    minus the mean over its positives of log softmax over all other labelled rows; averaged over those anchors.
    0 (still attached to the graph) when no labelled row has a positive."""
    labelled = labels >= 0
    z = nn.functional.normalize(embeddings[labelled].float(), dim=-1)
    y = labels[labelled]
    zero = embeddings.sum() * 0.0
    if len(y) < 2:
        return zero
    itself = torch.eye(len(y), dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(itself, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (y[:, None] == y[None, :]) & ~itself
    anchors = positive.any(1)
    if not anchors.any():
        return zero
    per_anchor = -log_prob.masked_fill(~positive, 0.0).sum(1) / positive.sum(1).clamp_min(1)
    return per_anchor[anchors].mean()


def gather_positions(bias: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Restrict an additive attention mask (batch, heads, queries or 1, keys) to the sequence positions `index`
    (batch, kept) on both axes."""
    batch, heads, queries, keys = bias.shape
    kept = index.shape[1]
    if queries > 1:
        bias = bias.gather(2, index[:, None, :, None].expand(batch, heads, kept, keys))
    return bias.gather(3, index[:, None, None, :].expand(batch, heads, bias.shape[2], kept))


@dataclass
class Emotion2VecSForPreTrainingOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor`): L_frm + utterance_loss_weight * L_utt + category_loss_weight * L_cate.
        frame_loss (`torch.FloatTensor`): mean over the scored frames (masked frames; all real frames when masking
            is off) of the squared error summed over channels, divided by sqrt(hidden_size).
        utterance_loss (`torch.FloatTensor`): per clip copy, the squared error of the utterance tokens against the
            chunk targets (mean over tokens, sum over channels, / sqrt(hidden_size)), summed over the copies.
        category_loss (`torch.FloatTensor`): the supervised contrastive loss on `embeddings` of labelled copies.
        embeddings (`torch.FloatTensor` of shape `(batch * num_mask_copies, hidden)`): G, the mean of the student's
            visible real frame outputs per copy.
        mask_time_indices (`torch.BoolTensor` of shape `(batch * num_mask_copies, frames)`): the masked frames.
    """

    loss: torch.FloatTensor | None = None
    frame_loss: torch.FloatTensor | None = None
    utterance_loss: torch.FloatTensor | None = None
    category_loss: torch.FloatTensor | None = None
    embeddings: torch.FloatTensor | None = None
    mask_time_indices: torch.BoolTensor | None = None


class Emotion2VecSDecoderBlock(nn.Module):
    """Grouped conv (odd kernels keep the length; an even one drops the last frame), LayerNorm over channels without
    affine, GELU."""

    def __init__(self, in_channels: int, config: Emotion2VecSConfig):
        super().__init__()
        kernel = config.decoder_kernel
        self.conv = nn.Conv1d(
            in_channels, config.decoder_dim, kernel, padding=kernel // 2, groups=config.decoder_groups
        )
        self.norm = nn.LayerNorm(config.decoder_dim, elementwise_affine=False, eps=1e-5)
        self.activation = nn.GELU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        frames = hidden_states.shape[-1]
        hidden_states = self.conv(hidden_states)[..., :frames]
        hidden_states = self.norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        return self.activation(hidden_states)


class Emotion2VecSDecoder(nn.Module):
    """data2vec 2.0's 1-D decoder: conv blocks with a residual wherever the width is unchanged, then a linear
    projection back to the model width. Padded frames are zeroed before every block, so a padded batch decodes each
    clip as it would alone (docs/emotion2vec-training.md#padding)."""

    def __init__(self, config: Emotion2VecSConfig):
        super().__init__()
        widths = [config.hidden_size] + [config.decoder_dim] * config.decoder_layers
        self.blocks = nn.ModuleList([Emotion2VecSDecoderBlock(width, config) for width in widths[:-1]])
        self.proj = nn.Linear(config.decoder_dim, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        keep = frame_mask[:, None, :].to(hidden_states.dtype)
        hidden_states = hidden_states.transpose(1, 2)
        for block in self.blocks:
            hidden_states = hidden_states * keep
            output = block(hidden_states)
            hidden_states = output + hidden_states if output.shape == hidden_states.shape else output
        return self.proj(hidden_states.transpose(1, 2))


class Emotion2VecSForPreTraining(Emotion2VecSPreTrainedModel):
    """Emotion2Vec-S (or emotion2vec, with `category_loss_weight=0`) with its pretraining decoder and EMA teacher.

    A folder without teacher weights (converted, or encoder only) starts the teacher as a copy of the student, as
    data2vec 2.0 does; a folder saved by this class restores it. The trainer calls `update_teacher(decay)` after
    every optimizer step (`c2ser_hf.emotion2vec_training.EMATeacherCallback`). The encoder alone loads from the same
    folder with `AutoModel` (the decoder and teacher tensors are then unused)."""

    # the loss is a per-batch mean, so the Trainer must average it over gradient-accumulation steps itself
    accepts_loss_kwargs = False
    # folders without a teacher are expected: `_init_weights` starts it as the student
    _keys_to_ignore_on_load_missing = [r"^teacher\."]

    def __init__(self, config: Emotion2VecSConfig):
        super().__init__(config)
        main_blocks = config.num_hidden_layers - config.num_prenet_layers
        if config.average_top_k_layers < 1 or main_blocks < 1:
            raise ValueError(
                f"average_top_k_layers must be >= 1 and the model needs a block after the prenet, got "
                f"average_top_k_layers={config.average_top_k_layers}, {main_blocks} blocks after the prenet"
            )
        if config.hidden_size % config.decoder_groups or config.decoder_dim % config.decoder_groups:
            raise ValueError(
                f"decoder_groups={config.decoder_groups} must divide hidden_size={config.hidden_size} and "
                f"decoder_dim={config.decoder_dim}"
            )
        if not 0 <= config.mask_time_prob < 1 or config.mask_time_length < 1 or config.num_mask_copies < 1:
            raise ValueError(
                "need 0 <= mask_time_prob < 1, mask_time_length >= 1 and num_mask_copies >= 1, got "
                f"{config.mask_time_prob}, {config.mask_time_length}, {config.num_mask_copies}"
            )
        self.emotion2vec_s = Emotion2VecSModel(config)
        self.decoder = Emotion2VecSDecoder(config)
        self.teacher = Emotion2VecSEncoder(config)
        self.teacher.requires_grad_(False)
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        model = super().from_pretrained(*args, **kwargs)
        loaded = model[0] if isinstance(model, tuple) else model
        loaded.teacher.requires_grad_(False)  # loading makes fresh parameters; the optimizer must never see these
        return model

    def _init_weights(self, module):
        super()._init_weights(module)
        # Runs after the teacher's own submodules, and after loading when a folder has no teacher (a converted or an
        # encoder-only folder): the teacher then starts as the student.
        if module is getattr(self, "teacher", None):
            self.reset_teacher()

    def save_pretrained(self, save_directory, *args, **kwargs):
        map_auto_model_to(self, Emotion2VecSModel)
        return super().save_pretrained(save_directory, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()  # the teacher never drops anything
        return self

    @torch.no_grad()
    def reset_teacher(self) -> None:
        """Make the teacher an exact copy of the student's encoder."""
        for teacher, student in zip(self.teacher.parameters(), self.emotion2vec_s.encoder.parameters()):
            teacher.copy_(student)

    @torch.no_grad()
    def update_teacher(self, decay: float) -> None:
        """teacher <- decay * teacher + (1 - decay) * student, parameter by parameter (whole parameters: DeepSpeed
        ZeRO-3, which shards them, is not supported; ZeRO-2 is)."""
        for teacher, student in zip(self.teacher.parameters(), self.emotion2vec_s.encoder.parameters()):
            teacher.mul_(decay).add_(student.to(teacher.dtype), alpha=1 - decay)

    def freeze_feature_encoder(self):
        self.emotion2vec_s.freeze_feature_encoder()

    def forward(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mask_time_indices: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Emotion2VecSForPreTrainingOutput | tuple:
        r"""
        input_values (`torch.FloatTensor` of shape `(batch, samples)`): 16 kHz mono waveforms, right-padded.
        attention_mask (`torch.LongTensor` of shape `(batch, samples)`): 1 on real samples.
        labels (`torch.LongTensor` of shape `(batch,)`): emotion class per clip, -100 for an unlabelled clip; only
            labelled clips enter the category loss.
        mask_time_indices (`torch.BoolTensor` of shape `(batch * num_mask_copies, frames)`, *optional*): masked
            frames of each copy (copies of clip i are rows i * num_mask_copies ...); drawn with `block_time_mask`
            when not given. Every row must mask the same number of frames, and only real frames.
        """
        config = self.config
        return_dict = return_dict if return_dict is not None else config.return_dict
        copies = config.num_mask_copies
        features, frame_mask = self._local_features(input_values, attention_mask)
        with torch.no_grad():
            targets = self._teacher_targets(features.detach(), frame_mask)

        features = features.repeat_interleave(copies, 0)
        frame_mask = frame_mask.repeat_interleave(copies, 0)
        targets = targets.repeat_interleave(copies, 0)
        if mask_time_indices is None:
            mask_time_indices = (
                block_time_mask(frame_mask, config.mask_time_prob, config.mask_time_length)
                if config.mask_time_prob > 0
                else torch.zeros_like(frame_mask)
            )
        self._check_mask(mask_time_indices, frame_mask)

        frames, tokens, keep = self._encode_visible(features, frame_mask, mask_time_indices)
        scale = 1 / math.sqrt(config.hidden_size)
        predicted = self.decoder(self._decoder_input(frames, keep, mask_time_indices), frame_mask)
        scored = mask_time_indices if mask_time_indices.any() else frame_mask
        frame_loss = ((predicted[scored].float() - targets[scored]) ** 2).sum(-1).mean() * scale

        utterance_loss = frames.new_zeros((), dtype=torch.float32)
        if tokens is not None:
            chunk_targets, has_frames = chunk_means(targets, frame_mask, tokens.shape[1])
            errors = ((tokens.float() - chunk_targets) ** 2).sum(-1) * has_frames
            utterance_loss = (errors.sum(-1) / has_frames.sum(-1)).sum() * scale

        visible = frame_mask.gather(1, keep)
        weights = visible[..., None].to(frames.dtype)
        embeddings = (frames * weights).sum(1) / weights.sum(1)
        if labels is None:
            labels = torch.full((features.shape[0] // copies,), UNLABELLED, device=features.device)
        category_loss = category_contrastive_loss(
            embeddings, labels.repeat_interleave(copies, 0), config.contrastive_temperature
        )

        loss = (
            frame_loss
            + config.utterance_loss_weight * utterance_loss
            + config.category_loss_weight * category_loss
        )
        output = Emotion2VecSForPreTrainingOutput(
            loss=loss,
            frame_loss=frame_loss,
            utterance_loss=utterance_loss,
            category_loss=category_loss,
            embeddings=embeddings,
            mask_time_indices=mask_time_indices,
        )
        return output if return_dict else output.to_tuple()

    def _local_features(self, input_values, attention_mask):
        """CNN + projection, (batch, frames, hidden), and the real-frame mask."""
        student = self.emotion2vec_s
        if attention_mask is None:
            attention_mask = torch.ones(input_values.shape, dtype=torch.long, device=input_values.device)
        lengths = student._get_feat_extract_output_lengths(attention_mask.long().sum(-1))
        too_short = (lengths < 1).nonzero().flatten().tolist()
        if too_short:
            raise ValueError(
                f"input item(s) {too_short} have fewer samples than one frame needs "
                f"({self.config.receptive_field} at 16 kHz)"
            )
        waveform = student._cnn_input(input_values)  # marked when the CNN trains, for reentrant checkpointing
        features, _ = student.feature_projection(student.feature_extractor(waveform).transpose(1, 2))
        frame_mask = torch.arange(features.shape[1], device=features.device)[None, :] < lengths[:, None]
        return features, frame_mask

    def _teacher_targets(self, features, frame_mask):
        """Average over the top blocks (after the prenet) of each block's instance-normalised feed-forward output, run
        by the teacher on the unmasked clip."""
        config = self.config
        main_blocks = self.teacher.layers[config.num_prenet_layers :]
        outputs = []
        hooks = [
            layer.feed_forward.register_forward_hook(lambda module, args, output: outputs.append(output))
            for layer in main_blocks[-config.average_top_k_layers :]
        ]
        try:
            self.teacher(features, frame_mask)
        finally:
            for hook in hooks:
                hook.remove()
        extra = config.num_extra_tokens
        normalized = [masked_instance_norm(output[:, extra:].float(), frame_mask) for output in outputs]
        return torch.stack(normalized).mean(0)

    @staticmethod
    def _check_mask(mask_time_indices, frame_mask):
        if mask_time_indices.shape != frame_mask.shape:
            raise ValueError(
                f"mask_time_indices must have shape (batch * num_mask_copies, frames) = {tuple(frame_mask.shape)}, "
                f"got {tuple(mask_time_indices.shape)}"
            )
        counts = mask_time_indices.sum(-1)
        if (counts != counts[0]).any() or (mask_time_indices & ~frame_mask).any():
            raise ValueError("mask_time_indices must mask the same number of frames in every row, and only real frames")

    def _encode_visible(self, features, frame_mask, mask_time_indices):
        """The student's encoder on the unmasked frames only (data2vec 2.0): masked frames are zeroed before the
        positional convolution, then removed; ALiBi keeps the original distances. Returns the visible frame outputs
        (batch, kept, hidden), the utterance-token outputs, and the kept positions (batch, kept), ascending."""
        encoder = self.emotion2vec_s.encoder
        config = self.config
        extra = config.num_extra_tokens
        hidden = features * (frame_mask & ~mask_time_indices)[..., None].to(features.dtype)
        hidden = hidden + encoder.pos_conv_embed(hidden, frame_mask)
        kept = frame_mask.shape[1] - int(mask_time_indices[0].sum())
        keep = torch.sort(mask_time_indices.to(torch.uint8), dim=1, stable=True).indices[:, :kept]
        hidden = hidden.gather(1, keep[..., None].expand(-1, -1, hidden.shape[-1]))
        if encoder.extra_tokens is not None:
            tokens = encoder.extra_tokens.to(hidden.dtype).expand(hidden.shape[0], -1, -1)
            hidden = torch.cat([tokens, hidden], dim=1)
        hidden = encoder.dropout(encoder.layer_norm(hidden))

        positions = torch.cat(
            [torch.arange(extra, device=keep.device).expand(keep.shape[0], -1), keep + extra], dim=1
        )
        restricted = {}
        biases = [
            restricted.setdefault(id(bias), gather_positions(bias, positions))
            for bias in encoder.attention_biases(frame_mask, hidden.dtype)
        ]
        # the encoder's own block loop, over the shortened sequence
        for layer, bias in zip(encoder.layers, biases):
            if self.training and config.layerdrop > 0 and torch.rand([]) < config.layerdrop:
                continue
            hidden = layer(hidden, bias)  # an input, not a keyword: see Emotion2VecSEncoder.forward
        tokens = hidden[:, :extra] if extra > 0 else None
        return hidden[:, extra:], tokens, keep

    def _decoder_input(self, frames, keep, mask_time_indices):
        """Full-length decoder input: the student's (dropped-out) outputs at the kept frames, N(0, mask_noise_std)
        noise at the masked ones."""
        frames = nn.functional.dropout(frames, self.config.decoder_input_dropout, training=self.training)
        batch, length = mask_time_indices.shape
        noise = frames.new_empty(batch, length, frames.shape[-1]).normal_(0, self.config.mask_noise_std)
        return noise.scatter(1, keep[..., None].expand(-1, -1, frames.shape[-1]), frames)


__all__ = ["Emotion2VecSForPreTraining", "Emotion2VecSForPreTrainingOutput"]
