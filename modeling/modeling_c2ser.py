"""C2SER as a transformers model (UPSTREAM §1).

speech ─┬─ log-mel → Whisper encoder (variable length) → causal conv downsampler ×4 ─────────┐
        └─ waveform → Emotion2Vec-S → acoustic tokens, zero-padded 768 → 1024 ── [acoustic ; whisper]
        → link transformer → Linear → [speech-BOS] rows [speech-EOS] → scattered into the prompt's placeholders
        → Qwen2 → text.
Encoders, link and projection run in fp32 and are cast to the language model's dtype at its input.
"""

import copy
import json
import math

import torch
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM, GenerationConfig, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import load_state_dict, slice_logits_to_keep
from transformers.models.speech_to_text.configuration_speech_to_text import Speech2TextConfig
from transformers.models.speech_to_text.modeling_speech_to_text import Speech2TextEncoderLayer
from transformers.utils import cached_file

from .auto_map import map_auto_model_to
from .configuration_c2ser import C2SERConfig
from .modeling_c2ser_whisper import C2SERWhisperEncoder
from .modeling_emotion2vec_s import Emotion2VecSModel


def _common_prefix(sequences: list[list[int]]) -> list[int]:
    shortest = min(sequences, key=len)
    for length, token in enumerate(shortest):
        if any(sequence[length] != token for sequence in sequences):
            return shortest[:length]
    return list(shortest)


def interleaved_sinusoids(length: int, dim: int) -> torch.Tensor:
    """ESPnet/wenet `PositionalEncoding` table: sin on even, cos on odd channels (UPSTREAM §1.6)."""
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
    """wenet `GxlConv1dSubsampling4` (UPSTREAM §1.4): causal (left-padded) k3 convolutions with GELU, the first with
    stride 1, then stride 2 until the rate is reached. Causal, so padding at a sequence's end never reaches its frames.
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
        return torch.div(lengths + self.rate - 1, self.rate, rounding_mode="floor")


class C2SERLink(nn.Module):
    """The connector (`speech_transformer`, UPSTREAM §1.6): Linear + LayerNorm, x·√d plus the interleaved sinusoid
    table, pre-LN transformer blocks with ReLU FFN and biases everywhere, final LayerNorm."""

    def __init__(self, config: C2SERConfig):
        super().__init__()
        dim = config.link_hidden_size
        self.layer_config = Speech2TextConfig(
            d_model=dim,
            encoder_attention_heads=config.link_attention_heads,
            encoder_ffn_dim=config.link_ffn_dim,
            activation_function=config.link_activation,
            dropout=config.link_dropout,
            activation_dropout=config.link_dropout,
            attention_dropout=0.0,
        )
        # the link is small: the eager path is the exact reference and costs little
        self.layer_config._attn_implementation = "eager"
        self.embed = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim, eps=1e-5), nn.Dropout(config.link_dropout))
        self.scale = math.sqrt(dim)
        # persistent: converted checkpoints keep the official (bf16-rounded) table values
        self.register_buffer("position_table", interleaved_sinusoids(config.link_max_positions, dim)[None])
        self.dropout = nn.Dropout(config.link_dropout)
        self.layers = nn.ModuleList([Speech2TextEncoderLayer(self.layer_config) for _ in range(config.link_layers)])
        self.after_norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = hidden_states.shape[1]
        if length > self.position_table.shape[1]:
            raise ValueError(f"speech block of {length} positions exceeds link_max_positions={self.position_table.shape[1]}")
        hidden_states = self.embed(hidden_states) * self.scale + self.position_table[:, :length]
        hidden_states = self.dropout(hidden_states)
        bias = padding_bias(mask, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask=bias)
        return self.after_norm(hidden_states)


class C2SERPreTrainedModel(PreTrainedModel):
    config_class = C2SERConfig
    config: C2SERConfig
    base_model_prefix = "model"
    input_modalities = ("audio", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = False
    _no_split_modules = ["Qwen2DecoderLayer", "WhisperEncoderLayer"]
    # DESIGN "Fidelity decisions": encoders, link and projection stay fp32 whatever the language model's dtype
    _keep_in_fp32_modules_strict = ["audio_tower", "acoustic_tower", "downsampler", "link", "projector", "speech_boundary"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, C2SERLink):
            table = interleaved_sinusoids(module.position_table.shape[1], module.position_table.shape[2])
            init.copy_(module.position_table, table[None])


class C2SERModel(C2SERPreTrainedModel):
    def __init__(self, config: C2SERConfig):
        super().__init__(config)
        self.audio_tower = C2SERWhisperEncoder(config.audio_config)
        self.acoustic_tower = Emotion2VecSModel(config.acoustic_config)
        self.downsampler = C2SERDownsampler(config)
        self.link = C2SERLink(config)
        self.projector = nn.Linear(config.link_hidden_size, config.text_config.hidden_size)
        # learned speech-BOS (row 0) and speech-EOS (row 1) around each speech block (UPSTREAM §1.8)
        self.speech_boundary = nn.Embedding(2, config.text_config.hidden_size)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def speech_lengths(self, mel_lengths: torch.Tensor) -> torch.Tensor:
        """Speech-block length per item from its log-mel frame count: 2 + acoustic tokens + ceil(ceil(T/2)/rate)."""
        encoder_lengths = torch.div(mel_lengths + 1, 2, rounding_mode="floor")
        return 2 + self.config.num_acoustic_tokens + self.downsampler.output_lengths(encoder_lengths)

    def get_speech_embeddings(
        self,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor | None,
        input_values: torch.Tensor,
        input_values_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Speech blocks of all items, concatenated: ((sum of lengths), text hidden) in fp32, and the lengths."""
        if feature_attention_mask is None:
            feature_attention_mask = torch.ones(input_features.shape[0], input_features.shape[-1], dtype=torch.long,
                                                device=input_features.device)
        encoded = self.audio_tower(input_features.to(self.audio_tower.conv1.weight.dtype), feature_attention_mask)
        whisper_lengths = self.downsampler.output_lengths(encoded.frame_mask.sum(-1))
        whisper = self.downsampler(encoded.last_hidden_state)
        acoustic = self.acoustic_tower(
            input_values.to(self.projector.weight.dtype), input_values_mask, utterance_source=self.config.acoustic_token_source
        ).utterance_features
        if acoustic.dim() == 2:
            acoustic = acoustic[:, None]
        # UPSTREAM §1.5: the 768-d acoustic vectors are zero-padded on the feature axis to the link width
        acoustic = nn.functional.pad(acoustic, (0, self.config.link_hidden_size - acoustic.shape[-1]))
        positions = torch.arange(whisper.shape[1], device=whisper.device)
        mask = torch.cat([torch.ones(acoustic.shape[:2], dtype=torch.bool, device=whisper.device),
                          positions[None, :] < whisper_lengths[:, None]], dim=1)
        speech = self.projector(self.link(torch.cat([acoustic, whisper], dim=1), mask))
        bos, eos = self.speech_boundary.weight
        lengths = mask.sum(-1)
        rows = [torch.cat([bos[None], speech[i, :n], eos[None]]) for i, n in enumerate(lengths.tolist())]
        return torch.cat(rows), lengths + 2

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
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        r"""
        input_ids: prompt tokens with each item's speech placeholders already expanded by the processor.
        input_features / feature_attention_mask: log-mel (batch, 80, frames) right-padded, and its frame mask.
        input_values / input_values_mask: 16 kHz waveforms for Emotion2Vec-S, right-padded, and their sample mask.
        Without `input_features` (decoding steps after the first), only text runs; the masks are then ignored.
        """
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if input_features is not None:
            if input_ids is None:
                raise ValueError("speech inputs need input_ids: the placeholders mark where the speech goes")
            if input_values is None:
                raise ValueError("input_features were given without input_values: C2SER needs both speech inputs")
            speech, lengths = self.get_speech_embeddings(
                input_features, feature_attention_mask, input_values, input_values_mask
            )
            placeholders = input_ids == self.config.speech_token_id
            counts = placeholders.sum(-1)
            if counts.shape != lengths.shape or not torch.equal(counts, lengths.to(counts.device)):
                raise ValueError(
                    f"speech placeholder count per item {counts.tolist()} does not match the speech blocks the "
                    f"encoders produce {lengths.tolist()}: the processor and model configurations disagree"
                )
            inputs_embeds = inputs_embeds.masked_scatter(
                placeholders[..., None].to(inputs_embeds.device), speech.to(inputs_embeds.dtype)
            )
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


class C2SERForConditionalGeneration(C2SERPreTrainedModel, GenerationMixin):
    def __init__(self, config: C2SERConfig):
        super().__init__(config)
        self.model = C2SERModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()
        # upstream decoding (UPSTREAM §1.11): 4 beams, repetition penalty 1.05, ≤ 400 new tokens, eos <|endoftext|>
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
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, merge_lora: bool = True, **kwargs):
        """As `PreTrainedModel.from_pretrained`; a light checkpoint (config `base_model_name_or_path`) also loads its
        frozen language model from that base model and merges the LoRA adapter stored beside the trained parts
        (`merge_lora=False` leaves the language model as the base has it, e.g. to keep training the adapter)."""
        hub = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
        config = kwargs.get("config")
        if not isinstance(config, C2SERConfig):
            config = C2SERConfig.from_pretrained(pretrained_model_name_or_path, **hub)
        if not config.base_model_name_or_path:
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        return cls._from_light(pretrained_model_name_or_path, config, kwargs.get("dtype"), hub, merge_lora)

    @classmethod
    def around_language_model(cls, config: C2SERConfig, causal_lm) -> "C2SERForConditionalGeneration":
        """A model whose language model and head are `causal_lm`'s own modules (no second copy is ever allocated);
        every other part is left on the meta device for the caller to load or initialise."""
        with torch.device("meta"):
            model = cls(config)
        model.model.language_model, model.lm_head = causal_lm.model, causal_lm.lm_head
        return model

    @classmethod
    def _from_light(cls, path, config: C2SERConfig, dtype, hub: dict, merge_lora: bool = True):
        dtype = None if dtype in (None, "auto") else dtype
        base = AutoModelForCausalLM.from_pretrained(config.base_model_name_or_path, dtype=dtype, **hub)
        model = cls.around_language_model(config, base)
        # the trained parts run in fp32 whatever dtype they are stored in (DESIGN "Fidelity decisions"); parts of the
        # language model a fine-tuning trained fully (its head, say) replace the base's in the base's dtype
        dtypes = {k: v.dtype for k, v in model.state_dict().items()}
        trained = {k: v.to(dtypes[k]) if k.startswith(("model.language_model.", "lm_head.")) and k in dtypes
                   else v.float() for k, v in load_state_dict(cached_file(path, "model.safetensors", **hub)).items()}
        missing, unexpected = model.load_state_dict(trained, strict=False, assign=True)
        left = [k for k in missing if not k.startswith(("model.language_model.", "lm_head."))]
        if left or unexpected:
            raise ValueError(f"{path}: light checkpoint does not match the model: missing {left[:10]}, "
                             f"unexpected {unexpected[:10]}")
        if merge_lora:
            adapter = json.loads(open(cached_file(path, "adapter_config.json", **hub), encoding="utf-8").read())
            model.merge_lora(load_state_dict(cached_file(path, "adapter_model.safetensors", **hub)),
                             adapter["lora_alpha"] / adapter["r"])
        generation = cached_file(path, "generation_config.json", _raise_exceptions_for_missing_entries=False, **hub)
        if generation:
            model.generation_config = GenerationConfig.from_pretrained(path, **hub)
        return model.eval()

    @torch.no_grad()
    def merge_lora(self, adapter: dict, scaling: float) -> int:
        """Merge a peft LoRA adapter state dict (`base_model.model.model.<module>.lora_{A,B}.weight`) into the
        language model: W += scaling · B @ A, computed in fp32. Returns the number of merged modules."""
        merged = 0
        for key, lora_a in adapter.items():
            if not key.endswith(".lora_A.weight"):
                continue
            path = key[len("base_model.model.model.") : -len(".lora_A.weight")]
            layer = self.model.language_model.get_submodule(path)
            lora_b = adapter[key.replace(".lora_A.", ".lora_B.")]
            delta = scaling * (lora_b.float() @ lora_a.float())
            layer.weight.copy_((layer.weight.float() + delta.to(layer.weight.device)).to(layer.weight.dtype))
            merged += 1
        return merged

    def get_input_embeddings(self):
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

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

    @torch.no_grad()
    def score_continuations(self, continuations: list[list[int]], chunk_size: int = 8, **inputs) -> torch.Tensor:
        """Log-likelihood (batch, len(continuations)) of each token sequence following each item's prompt + speech.

        The prompt and speech run once. Continuations that share a leading run of tokens (an answer template before
        the emotion word) share one pass over it; the rest extend copies of the cache, `chunk_size` at a time (the
        vocabulary-wide log-softmax per position bounds memory).
        """
        if not continuations or any(len(c) == 0 for c in continuations):
            raise ValueError("continuations must be a non-empty list of non-empty token id lists")
        prefix = self(**inputs, use_cache=True, logits_to_keep=1)
        mask = inputs["attention_mask"]
        state = (prefix.cache, mask, mask.long().sum(-1), prefix.logits[:, -1].float().log_softmax(-1))
        return self._score_from(state, continuations, chunk_size)

    def _extend(self, state, tokens: list[int]):
        """Run `tokens` after every item of `state` (cache, mask, next position, next-token log-probs); returns the
        summed log-probability of the tokens and the state after them."""
        cache, mask, next_position, next_logprobs = state
        batch, device = mask.shape[0], mask.device
        ids = torch.tensor(tokens, device=device).repeat(batch, 1)
        mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
        logprobs = self(
            input_ids=ids,
            attention_mask=mask,
            position_ids=next_position[:, None] + torch.arange(len(tokens), device=device),
            cache=copy.deepcopy(cache),
        )
        total = next_logprobs[:, tokens[0]]
        step = logprobs.logits.float().log_softmax(-1)
        total = total + step[:, :-1].gather(-1, ids[:, 1:, None])[..., 0].sum(-1)
        return total, (logprobs.cache, mask, next_position + len(tokens), step[:, -1])

    def _score_from(self, state, continuations: list[list[int]], chunk_size: int) -> torch.Tensor:
        cache, mask, next_position, next_logprobs = state
        batch, device = mask.shape[0], mask.device
        scores = torch.empty(batch, len(continuations), device=device)
        groups = {}
        for index, tokens in enumerate(continuations):
            groups.setdefault(tokens[0], []).append(index)
        separate = []
        for members in groups.values():
            if len(members) < 2:
                separate += members
                continue
            shared = _common_prefix([continuations[i] for i in members])
            shared_score, after = self._extend(state, shared)
            rests = {i: continuations[i][len(shared) :] for i in members}
            ended = [i for i, rest in rests.items() if not rest]
            scores[:, ended] = shared_score[:, None]
            going = [i for i, rest in rests.items() if rest]
            if going:
                scores[:, going] = shared_score[:, None] + self._score_from(after, [rests[i] for i in going], chunk_size)

        pad = self.generation_config.pad_token_id or 0
        for start in range(0, len(separate), chunk_size):
            members = separate[start : start + chunk_size]
            count, width = len(members), max(len(continuations[i]) for i in members)
            ids = torch.full((count, width), pad, dtype=torch.long, device=device)
            real = torch.zeros(count, width, dtype=torch.long, device=device)
            for row, i in enumerate(members):
                ids[row, : len(continuations[i])] = torch.tensor(continuations[i], device=device)
                real[row, : len(continuations[i])] = 1
            chunk_cache = copy.deepcopy(cache)
            chunk_cache.reorder_cache(torch.arange(batch, device=device).repeat_interleave(count))
            logits = self(
                input_ids=ids.repeat(batch, 1),
                attention_mask=torch.cat([mask.repeat_interleave(count, 0), real.repeat(batch, 1)], dim=1),
                position_ids=next_position.repeat_interleave(count)[:, None] + torch.arange(width, device=device),
                cache=chunk_cache,
            ).logits.float()
            # token j > 0 is predicted at continuation position j - 1; token 0 by the state's next-token log-probs
            later = logits[:, :-1].log_softmax(-1).gather(-1, ids.repeat(batch, 1)[:, 1:, None])[..., 0]
            later = (later * real.repeat(batch, 1)[:, 1:]).sum(-1).view(batch, count)
            scores[:, members] = next_logprobs.gather(1, ids[:, 0].repeat(batch, 1)) + later
        return scores

    @torch.no_grad()
    def emotion_probabilities(
        self, candidate_emotions: list[int], candidates: list[list[int]], chunk_size: int = 8, **inputs
    ) -> torch.Tensor:
        """(batch, emotions) probabilities: per emotion, the log-sum-exp of its candidate answers' likelihoods
        (every wording, both languages), then a softmax over emotions. The processor's `emotion_candidates()`
        gives both lists; columns follow its emotion order."""
        if len(candidate_emotions) != len(candidates):
            raise ValueError(f"{len(candidate_emotions)} emotion indices for {len(candidates)} candidates")
        scores = self.score_continuations(candidates, chunk_size=chunk_size, **inputs)
        owner = torch.tensor(candidate_emotions, device=scores.device)
        per_emotion = torch.stack(
            [scores[:, owner == emotion].logsumexp(-1) for emotion in range(int(owner.max()) + 1)], dim=-1
        )
        return per_emotion.softmax(-1)


__all__ = ["C2SERPreTrainedModel", "C2SERModel", "C2SERForConditionalGeneration"]
