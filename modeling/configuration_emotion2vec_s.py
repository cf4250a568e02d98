"""Configuration of Emotion2Vec-S, the acoustic encoder of C2SER: data2vec 2.0 audio
(docs/fidelity.md#acoustic-tokens)."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .emotion2vec_s_frames import (
    CONV_KERNEL, CONV_STRIDE, frame_hop_samples, receptive_field_samples, samples_for_frames,
)

UTTERANCE_SOURCES = ("extra_tokens", "mean", "first_frames")
CLASSIFIER_POOLINGS = ("mean", "extra_tokens")


@strict
class Emotion2VecSConfig(PreTrainedConfig):
    r"""
    Emotion2Vec-S / emotion2vec: a data2vec 2.0 audio encoder. The field names of the CNN, projection, positional
    convolution and transformer blocks are those of [`Data2VecAudioConfig`], whose building blocks the model reuses.

    Args:
        hidden_size (`int`): width of the transformer (768).
        num_hidden_layers (`int`): all transformer blocks, prenet included (4 + 8 = 12).
        num_prenet_layers (`int`): blocks of the modality "context encoder" that run before the shared blocks (4).
            Both groups are identical post-LN blocks sharing one ALiBi bias, so they are one `encoder.layers` list.
        num_attention_heads (`int`): 12.
        intermediate_size (`int`): FFN width (3072).
        conv_dim / conv_kernel / conv_stride (`list[int]`): the waveform CNN, 7 layers, total stride 320.
        conv_pos_kernel_size, num_conv_pos_embeddings, num_conv_pos_embedding_groups: positional convolution,
            `num_conv_pos_embeddings` grouped conv layers of kernel `conv_pos_kernel_size` (5 × k19, 16 groups).
        num_extra_tokens (`int`): learned utterance tokens prepended before the blocks (10).
        use_alibi (`bool`): add the symmetric ALiBi bias to the attention logits of every block.
        alibi_scale_per_head / alibi_scale_per_layer (`bool`): shape of the learned, clamped-at-0 ALiBi scale.
        utterance_source (`str`): what `utterance_features` holds: `"mean"` (masked mean of the frame features,
            emotion2vec's "utterance" granularity), `"extra_tokens"` (the outputs at the learned tokens) or
            `"first_frames"` (the first `num_extra_tokens` frame vectors: what released C2SER consumes by an upstream
            slicing bug, docs/fidelity.md#acoustic-tokens).
        classifier_hidden_sizes (`list[int]`): hidden widths of the sequence-classification head. Two widths give
            the paper's three fully connected layers (§V-A; the paper does not state the widths); an empty list
            gives one linear layer, as emotion2vec_plus' `proj`.
        classifier_pooling (`str`): `"mean"` over frames (emotion2vec_plus) or over the learned `"extra_tokens"`.

    Pretraining (`Emotion2VecSForPreTraining`; defaults are emotion2vec_base's data2vec 2.0 settings and the
    Emotion2Vec-S paper's loss weights, docs/emotion2vec-training.md):
        decoder_dim, decoder_kernel, decoder_layers, decoder_groups: the convolutional decoder that predicts the
            masked frames' targets (384, 7, 4, 16).
        decoder_input_dropout (`float`): dropout on the student output entering the decoder (0.1).
        mask_time_prob, mask_time_length: block masking: about `mask_time_prob * frames / mask_time_length` spans of
            `mask_time_length` frames start at random real frames (0.5, 5); 0 turns masking off.
        mask_noise_std (`float`): std of the noise that stands in for masked frames at the decoder input (0.01).
        num_mask_copies (`int`): differently masked copies of each clip per step (data2vec's "clone batch", 8).
        average_top_k_layers (`int`): targets average the feed-forward outputs of this many top blocks of the
            teacher, counted among the blocks after the prenet (8).
        utterance_loss_weight, category_loss_weight (`float`): lambda_utt and lambda_cate of the paper (0.1, 100).
        contrastive_temperature (`float`): temperature of the category-level contrastive loss (0.07).
    """

    model_type = "emotion2vec_s"

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_prenet_layers: int = 4
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float | int = 0.1
    activation_dropout: float | int = 0.0
    attention_dropout: float | int = 0.1
    feat_proj_dropout: float | int = 0.0
    layerdrop: float | int = 0.05
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    feat_extract_activation: str = "gelu"
    conv_dim: list[int] | tuple[int, ...] = (512, 512, 512, 512, 512, 512, 512)
    conv_stride: list[int] | tuple[int, ...] = CONV_STRIDE
    conv_kernel: list[int] | tuple[int, ...] = CONV_KERNEL
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 5
    conv_pos_kernel_size: int = 19
    num_conv_pos_embedding_groups: int = 16
    num_extra_tokens: int = 10
    use_alibi: bool = True
    alibi_scale_per_head: bool = True
    alibi_scale_per_layer: bool = False
    utterance_source: str = "mean"
    classifier_hidden_sizes: list[int] | tuple[int, ...] = (256, 256)
    classifier_dropout: float | int = 0.1
    classifier_pooling: str = "mean"
    decoder_dim: int = 384
    decoder_kernel: int = 7
    decoder_layers: int = 4
    decoder_groups: int = 16
    decoder_input_dropout: float | int = 0.1
    mask_time_prob: float | int = 0.5
    mask_time_length: int = 5
    mask_noise_std: float | int = 0.01
    num_mask_copies: int = 8
    average_top_k_layers: int = 8
    utterance_loss_weight: float | int = 0.1
    category_loss_weight: float | int = 100.0
    contrastive_temperature: float | int = 0.07

    def __post_init__(self, **kwargs):
        self.num_feat_extract_layers = len(self.conv_dim)
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        """Part of `@strict` validation: reject values the model cannot be built from."""
        if not len(self.conv_dim) == len(self.conv_kernel) == len(self.conv_stride):
            raise ValueError(
                f"conv_dim, conv_kernel and conv_stride must have the same length, got {len(self.conv_dim)}, "
                f"{len(self.conv_kernel)} and {len(self.conv_stride)}"
            )
        if not 0 <= self.num_prenet_layers <= self.num_hidden_layers:
            raise ValueError(
                f"num_prenet_layers must be in [0, num_hidden_layers={self.num_hidden_layers}], "
                f"got {self.num_prenet_layers}"
            )
        if self.utterance_source not in UTTERANCE_SOURCES:
            raise ValueError(f"utterance_source must be one of {UTTERANCE_SOURCES}, got {self.utterance_source!r}")
        if self.classifier_pooling not in CLASSIFIER_POOLINGS:
            raise ValueError(
                f"classifier_pooling must be one of {CLASSIFIER_POOLINGS}, got {self.classifier_pooling!r}"
            )
        if self.num_extra_tokens < 1 and "extra_tokens" in (self.utterance_source, self.classifier_pooling):
            raise ValueError("utterance_source/classifier_pooling 'extra_tokens' needs num_extra_tokens >= 1")

    @property
    def inputs_to_logits_ratio(self) -> int:
        """Samples between two output frames (the CNN's total stride)."""
        return frame_hop_samples(self)

    @property
    def receptive_field(self) -> int:
        """Samples one output frame sees: the fewest samples that give one frame."""
        return receptive_field_samples(self)

    def samples_for_frames(self, frames: int) -> int:
        """Fewest samples that give `frames` output frames (at least one)."""
        return samples_for_frames(frames, self)


__all__ = ["Emotion2VecSConfig"]
