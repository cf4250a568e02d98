"""C2SER as a transformers model (docs/architecture.md#data-flow).

speech ─┬─ log-mel → Whisper encoder (variable length) → causal conv downsampler ×4 ─────────┐
        └─ waveform → Emotion2Vec-S → acoustic tokens, zero-padded 768 → 1024 ── [acoustic ; whisper]
        → link transformer → Linear → [speech-BOS] rows [speech-EOS] → scattered into the prompt's placeholders
        → Qwen2 → text.
Encoders, link and projection run in fp32 and are cast to the language model's dtype at its input.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, GenerationConfig, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast, ModelOutput
from transformers.modeling_utils import local_torch_dtype, slice_logits_to_keep
from transformers.models.speech_to_text.configuration_speech_to_text import Speech2TextConfig
from transformers.models.speech_to_text.modeling_speech_to_text import Speech2TextEncoderLayer
from transformers.utils import can_return_tuple

from .auto_map import map_auto_model_to
from .configuration_c2ser import C2SERConfig, C2SERLinkConfig
from .continuation_scoring import ContinuationScoringMixin
from .encoder_precision import ENCODER_PRECISIONS, encoder_precision
from .generation_c2ser import generation_arguments
from .light_checkpoint import load_light_checkpoint
from .modeling_c2ser_whisper import C2SERWhisperEncoder
from .modeling_emotion2vec_s import Emotion2VecSModel
from .speech_lengths import downsampled_lengths, speech_block_lengths


def interleaved_sinusoids(length: int, dim: int) -> torch.Tensor:
    """ESPnet/wenet `PositionalEncoding` table: sin on even, cos on odd channels (docs/fidelity.md#link)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * -(math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


def padding_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, 1, keys) additive attention mask: the dtype's minimum on padded keys."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)[
        :, None, None, :
    ]


class C2SERDownsampler(nn.Module):
    """wenet `GxlConv1dSubsampling4` (docs/fidelity.md#downsampler): causal (left-padded) k3 convolutions with GELU,
    the first with stride 1, then stride 2 until the rate is reached. Causal, so padding at a sequence's end never
    reaches its frames.
    """

    def __init__(self, config: C2SERConfig):
        super().__init__()
        dim = config.audio_config.d_model
        strides = [1] + [2] * int(math.log2(config.downsample_rate))
        layers = []
        for stride in strides:
            layers += [nn.ConstantPad1d((2, 0), 0.0), nn.Conv1d(dim, dim, kernel_size=3, stride=stride), nn.GELU()]
        self.conv = nn.Sequential(*layers)
        self.rate = config.downsample_rate

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.conv(hidden_states.transpose(1, 2)).transpose(1, 2)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return downsampled_lengths(lengths, self.rate)


class C2SERLink(nn.Module):
    """The connector (`speech_transformer`, docs/fidelity.md#link): Linear + LayerNorm, x·√d plus the interleaved
    sinusoid table, pre-LN transformer blocks with ReLU FFN and biases everywhere, final LayerNorm."""

    def __init__(self, config: C2SERLinkConfig):
        super().__init__()
        dim = config.hidden_size
        self.layer_config = Speech2TextConfig(
            d_model=dim,
            encoder_attention_heads=config.num_attention_heads,
            encoder_ffn_dim=config.intermediate_size,
            activation_function=config.hidden_act,
            dropout=config.dropout,
            activation_dropout=config.dropout,
            attention_dropout=0.0,
        )
        # the link is small: the eager path is the exact reference and costs little
        self.layer_config._attn_implementation = "eager"
        self.embed = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim, eps=1e-5), nn.Dropout(config.dropout))
        self.scale = math.sqrt(dim)
        # persistent: converted checkpoints keep the official (bf16-rounded) table values (docs/fidelity.md#precision)
        self.register_buffer("position_table", interleaved_sinusoids(config.max_position_embeddings, dim)[None])
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList([Speech2TextEncoderLayer(self.layer_config) for _ in range(config.num_hidden_layers)])
        self.after_norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = hidden_states.shape[1]
        if length > self.position_table.shape[1]:
            raise ValueError(
                f"speech block of {length} positions exceeds link_config.max_position_embeddings="
                f"{self.position_table.shape[1]}"
            )
        hidden_states = self.embed(hidden_states) * self.scale + self.position_table[:, :length]
        hidden_states = self.dropout(hidden_states)
        bias = padding_bias(mask, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask=bias)
        return self.after_norm(hidden_states)


@dataclass
class C2SERSpeechEmbeddings(ModelOutput):
    r"""
    Each item's speech block, as `get_audio_features` computes it and `forward` and `generate` take it in place of the
    audio features (`model.generate(**text_inputs, **speech)`). Batch-first, so that `generate` repeats it per beam as
    it repeats the prompts.

    speech_embeddings (`torch.FloatTensor` of shape `(batch, longest block, text hidden)`): [speech-BOS] rows
        [speech-EOS] of each item in fp32, zeros after its block.
    speech_block_lengths (`torch.LongTensor` of shape `(batch,)`): the rows of each item's block.
    """

    speech_embeddings: torch.FloatTensor | None = None
    speech_block_lengths: torch.LongTensor | None = None


class C2SERPreTrainedModel(PreTrainedModel):
    config_class = C2SERConfig
    config: C2SERConfig
    base_model_prefix = "model"
    input_modalities = ("audio", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = False
    _no_split_modules = ["Qwen2DecoderLayer", "WhisperEncoderLayer"]
    # encoders, link and projection stay fp32 whatever the language model's dtype (docs/fidelity.md#precision)
    _keep_in_fp32_modules_strict = ["audio_tower", "acoustic_tower", "downsampler", "link", "projector", "speech_boundary"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, C2SERLink):
            table = interleaved_sinusoids(module.position_table.shape[1], module.position_table.shape[2])
            init.copy_(module.position_table, table[None])


def _block_rows(speech: C2SERSpeechEmbeddings) -> torch.Tensor:
    """The rows of every item's block, in item order, without the padding after each: ((sum of lengths), hidden)."""
    embeddings, lengths = speech.speech_embeddings, speech.speech_block_lengths
    positions = torch.arange(embeddings.shape[1], device=embeddings.device)
    return embeddings[positions[None, :] < lengths.to(embeddings.device)[:, None]]


class C2SERModel(C2SERPreTrainedModel):
    # a C2SERForConditionalGeneration folder holds the head too: the backbone leaves it, as transformers' base models do
    _keys_to_ignore_on_load_unexpected = [r"^lm_head\."]

    def __init__(self, config: C2SERConfig):
        super().__init__(config)
        # the fp32 modules are created in fp32 whatever dtype the model is built in (`_from_config(dtype=...)` sets
        # the default dtype), not only converted when loaded (docs/fidelity.md#precision)
        with local_torch_dtype(torch.float32):
            self.audio_tower = C2SERWhisperEncoder(config.audio_config)
            self.acoustic_tower = Emotion2VecSModel(config.acoustic_config)
            self.downsampler = C2SERDownsampler(config)
            self.link = C2SERLink(config.link_config)
            self.projector = nn.Linear(config.link_config.hidden_size, config.text_config.hidden_size)
            # learned speech-BOS (row 0) and speech-EOS (row 1) around each speech block
            # (docs/fidelity.md#sequence-layout)
            self.speech_boundary = nn.Embedding(2, config.text_config.hidden_size)
        self.language_model = AutoModel.from_config(config.text_config)
        # a run-time choice, not saved: `C2SERForConditionalGeneration.set_encoder_precision`
        self.encoder_precision = "fp32"
        self.post_init()

    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def get_audio_features(
        self,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor | None,
        input_values: torch.Tensor,
        input_values_mask: torch.Tensor | None,
    ) -> C2SERSpeechEmbeddings:
        """The speech blocks of a batch: encoders, link and projection (named as transformers' multimodal models name
        their encoder method). They do not depend on the prompt, so one result serves any number of prompts of the
        same audio: `forward`, `generate` and `emotion_probabilities` take it instead of the audio features."""
        if feature_attention_mask is None:
            feature_attention_mask = torch.ones(input_features.shape[0], input_features.shape[-1], dtype=torch.long,
                                                device=input_features.device)
        with encoder_precision(self.encoder_precision, input_features.device):
            speech = self._speech_rows(input_features, feature_attention_mask, input_values, input_values_mask)
        bos, eos = self.speech_boundary.weight
        lengths = speech_block_lengths(feature_attention_mask.long().sum(-1), self.config.num_acoustic_tokens,
                                       self.downsampler.rate)
        width = int(lengths.max())
        blocks = [
            nn.functional.pad(torch.cat([bos[None], speech[i, : n - 2].float(), eos[None]]), (0, 0, 0, width - n))
            for i, n in enumerate(lengths.tolist())
        ]
        return C2SERSpeechEmbeddings(speech_embeddings=torch.stack(blocks), speech_block_lengths=lengths)

    def get_speech_embeddings(
        self,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor | None,
        input_values: torch.Tensor,
        input_values_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Speech blocks of all items, concatenated: ((sum of lengths), text hidden) in fp32, and the lengths."""
        speech = self.get_audio_features(input_features, feature_attention_mask, input_values, input_values_mask)
        return _block_rows(speech), speech.speech_block_lengths

    def _closing_speech_rows(self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor) -> torch.Tensor:
        """Tokens run after a cache, with speech inputs given again (the first step of `generate` continuing a cache):
        the only speech placeholder they may hold is a prompt's last token, the closing speech-EOS (a prompt whose
        cache stops one token short, as `emotion_probabilities(cache=...)` leaves it). Its row is the learned
        speech-EOS, the one speech row that does not depend on the audio, so no encoder runs."""
        placeholders = input_ids == self.config.speech_token_id
        if not placeholders.any():
            return inputs_embeds
        if bool(placeholders[:, :-1].any()):
            raise ValueError(
                "the cache holds part of a speech block: only a prompt's last token (the speech-EOS) may follow a "
                "cache; run the whole prompt with its speech inputs, or continue from a cache of all but its last token"
            )
        eos = self.speech_boundary.weight[1].to(inputs_embeds.dtype)
        return torch.where(placeholders[..., None].to(inputs_embeds.device), eos, inputs_embeds)

    def _merge_speech(self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor,
                      speech: C2SERSpeechEmbeddings) -> torch.Tensor:
        """Each item's speech block scattered into its placeholders, once their count per item is checked."""
        lengths = speech.speech_block_lengths
        if speech.speech_embeddings.shape[1] < int(lengths.max()):
            raise ValueError(f"speech_embeddings hold {speech.speech_embeddings.shape[1]} rows per item, fewer than "
                             f"speech_block_lengths {lengths.tolist()}")
        placeholders = input_ids == self.config.speech_token_id
        counts = placeholders.sum(-1)
        if counts.shape != lengths.shape or not torch.equal(counts, lengths.to(counts.device)):
            raise ValueError(
                f"speech placeholder count per item {counts.tolist()} does not match the speech blocks the "
                f"encoders produce {lengths.tolist()}: the processor and model configurations disagree"
            )
        return inputs_embeds.masked_scatter(
            placeholders[..., None].to(inputs_embeds.device), _block_rows(speech).to(inputs_embeds.dtype)
        )

    def _speech_rows(self, input_features, feature_attention_mask, input_values, input_values_mask) -> torch.Tensor:
        """(batch, acoustic tokens + longest downsampled Whisper length, text hidden): encoders, link, projection."""
        encoded = self.audio_tower(input_features.to(self.audio_tower.conv1.weight.dtype), feature_attention_mask)
        whisper_lengths = self.downsampler.output_lengths(encoded.frame_mask.sum(-1))
        whisper = self.downsampler(encoded.last_hidden_state)
        acoustic = self.acoustic_tower(
            input_values.to(self.projector.weight.dtype), input_values_mask, utterance_source=self.config.acoustic_token_source
        ).utterance_features
        if acoustic.dim() == 2:
            acoustic = acoustic[:, None]
        # the 768-d acoustic vectors are zero-padded on the feature axis to the link width (docs/fidelity.md#acoustic-tokens)
        acoustic = nn.functional.pad(acoustic, (0, self.config.link_config.hidden_size - acoustic.shape[-1]))
        positions = torch.arange(whisper.shape[1], device=whisper.device)
        mask = torch.cat([torch.ones(acoustic.shape[:2], dtype=torch.bool, device=whisper.device),
                          positions[None, :] < whisper_lengths[:, None]], dim=1)
        return self.projector(self.link(torch.cat([acoustic, whisper], dim=1), mask))

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache=None,
        inputs_embeds: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_values_mask: torch.Tensor | None = None,
        speech_embeddings: torch.Tensor | None = None,
        speech_block_lengths: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        r"""
        input_ids: prompt tokens with each item's speech placeholders already expanded by the processor.
        input_features / feature_attention_mask: log-mel (batch, 80, frames) right-padded, and its frame mask.
        input_values / input_values_mask: 16 kHz waveforms for Emotion2Vec-S, right-padded, and their sample mask.
        speech_embeddings / speech_block_lengths: the speech blocks `get_audio_features` computed, instead of the four
            audio inputs (the encoders then do not run).
        Without speech inputs (decoding steps after the first), only text runs; the masks are then ignored.
        The speech is merged on the first step only: once `cache` holds earlier tokens, it holds the speech, and
        speech inputs given again (generation continued from a cache) are not encoded again.
        """
        if input_features is not None and speech_embeddings is not None:
            raise ValueError("give the speech either as audio features or as speech_embeddings, not both")
        if speech_embeddings is not None and speech_block_lengths is None:
            raise ValueError("speech_embeddings were given without speech_block_lengths: get_audio_features gives both")
        speech_given = input_features is not None or speech_embeddings is not None
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if cache is not None and cache.get_seq_length() > 0:
            # decoding steps carry no speech inputs: there a generated placeholder id is a token like any other
            if speech_given and input_ids is not None:
                inputs_embeds = self._closing_speech_rows(input_ids, inputs_embeds)
        elif speech_given:
            if input_ids is None:
                raise ValueError("speech inputs need input_ids: the placeholders mark where the speech goes")
            if speech_embeddings is not None:
                speech = C2SERSpeechEmbeddings(speech_embeddings=speech_embeddings,
                                               speech_block_lengths=speech_block_lengths)
            elif input_values is None:
                raise ValueError("input_features were given without input_values: C2SER needs both speech inputs")
            else:
                speech = self.get_audio_features(input_features, feature_attention_mask, input_values,
                                                 input_values_mask)
            inputs_embeds = self._merge_speech(input_ids, inputs_embeds, speech)
        if position_ids is None and attention_mask is not None and attention_mask.dim() == 2 and (
            cache is None or cache.get_seq_length() == 0
        ):
            # left padding: positions count real tokens only, as upstream's cumsum(mask) - 1
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp_min(0)
        return self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )


class C2SERForConditionalGeneration(C2SERPreTrainedModel, GenerationMixin, ContinuationScoringMixin):
    def __init__(self, config: C2SERConfig):
        super().__init__(config)
        self.model = C2SERModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()
        # the released decoding's settings (docs/fidelity.md#generation): 4 beams, repetition penalty 1.05, ≤ 400 new
        # tokens, eos <|endoftext|>
        eos = config.text_config.eos_token_id
        self.generation_config = GenerationConfig(
            num_beams=4,
            repetition_penalty=1.05,
            max_new_tokens=400,
            eos_token_id=eos,
            pad_token_id=config.text_config.pad_token_id if config.text_config.pad_token_id is not None else eos,
        )

    def save_pretrained(self, save_directory, *args, **kwargs):
        map_auto_model_to(self, C2SERModel)
        return super().save_pretrained(save_directory, *args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, merge_adapter: bool = True, **kwargs):
        """As `PreTrainedModel.from_pretrained`; a light checkpoint (config `base_model_name_or_path`) also loads its
        frozen language model from that base model and merges the LoRA adapter stored beside the trained parts
        (`merge_adapter=False` leaves the language model as the base has it, e.g. to keep training the adapter)."""
        hub = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
        config = kwargs.get("config")
        if not isinstance(config, C2SERConfig):
            config = C2SERConfig.from_pretrained(pretrained_model_name_or_path, **hub)
        if not config.base_model_name_or_path:
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        return load_light_checkpoint(cls, pretrained_model_name_or_path, config, kwargs.get("dtype"), hub,
                                     merge_adapter)

    def generate(self, inputs=None, generation_config=None, logits_processor=None, decoding=None, **kwargs):
        """`GenerationMixin.generate`, plus `decoding`: "official" (the released model's decoder), "beam" (plain beam
        search) or "greedy"; the default is the generation config's `decoding` ("official" in converted official
        models), else the generation config as it is. Repetition penalties count generated tokens only."""
        input_ids = inputs if inputs is not None else kwargs.get("input_ids")
        arguments = generation_arguments(self, input_ids, generation_config, logits_processor, decoding, kwargs)
        self._expand_given_cache(input_ids, arguments)
        return super().generate(inputs, **arguments)

    def prepare_inputs_for_generation(self, input_ids, *args, is_first_iteration=False, **kwargs):
        """transformers' own, which drops the audio features after the prefill, dropping the speech embeddings there
        too: on a decoding step a generated placeholder id stays a token like any other."""
        inputs = super().prepare_inputs_for_generation(input_ids, *args, is_first_iteration=is_first_iteration,
                                                       **kwargs)
        if not is_first_iteration and kwargs.get("use_cache", True):
            for key in ("speech_embeddings", "speech_block_lengths"):
                inputs.pop(key, None)
        return inputs

    def _expand_given_cache(self, input_ids, arguments: dict) -> None:
        """A cache of the prompts (`emotion_probabilities(..., cache=...)`'s prefill) given to a search that expands
        each prompt into several rows (beams, returned sequences): its rows are repeated as `generate` repeats the
        prompts' (transformers leaves a given cache as it is)."""
        cache = arguments.get("cache", arguments.get("past_key_values"))
        if cache is None or input_ids is None or cache.get_seq_length() == 0:
            return
        config = arguments["generation_config"] or self.generation_config

        def setting(name):
            return arguments.get(name) or getattr(config, name, None) or 1

        rows = max(setting("num_beams"), setting("num_return_sequences"))
        cached_rows = cache.layers[0].keys.shape[0]
        if rows > 1 and cached_rows == input_ids.shape[0]:
            cache.batch_repeat_interleave(rows)

    def set_encoder_precision(self, precision: str) -> None:
        """The arithmetic of the speech encoders, link and projection: "fp32" (the released model's, the default),
        "tf32" (CUDA only; elsewhere the same as fp32) or "bf16" (autocast). Weights stay fp32; the accuracy cost of
        each is in docs/fidelity.md#precision."""
        if precision not in ENCODER_PRECISIONS:
            raise ValueError(f"encoder precision must be one of {ENCODER_PRECISIONS}, got {precision!r}")
        self.model.encoder_precision = precision

    def compile_encoders(self, **compile_kwargs) -> None:
        """`torch.compile` the speech encoders and the link in place (`dynamic=True` unless given: clip lengths vary
        from batch to batch). Whether it pays depends on the device; `bench/bench_c2ser.py --compile` measures it."""
        compile_kwargs.setdefault("dynamic", True)
        for module in (self.model.audio_tower, self.model.acoustic_tower, self.model.link):
            module.compile(**compile_kwargs)

    def get_audio_features(self, *args, **kwargs) -> C2SERSpeechEmbeddings:
        return self.model.get_audio_features(*args, **kwargs)

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache=None,
        inputs_embeds: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_values_mask: torch.Tensor | None = None,
        speech_embeddings: torch.Tensor | None = None,
        speech_block_lengths: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        r"""
        labels (`torch.LongTensor` of shape `(batch, length)`): next-token targets aligned with `input_ids`; -100 is
            ignored (prompt, speech and padding).
        """
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            input_features=input_features,
            feature_attention_mask=feature_attention_mask,
            input_values=input_values,
            input_values_mask=input_values_mask,
            speech_embeddings=speech_embeddings,
            speech_block_lengths=speech_block_lengths,
            use_cache=use_cache,
            **kwargs,
        )
        hidden_states = slice_logits_to_keep(outputs.last_hidden_state, logits_to_keep)
        logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


__all__ = ["C2SERPreTrainedModel", "C2SERModel", "C2SERForConditionalGeneration", "C2SERSpeechEmbeddings"]
