"""A synthetic checkpoint in the official `C2SER_llm.pt` layout (docs/fidelity.md#conversion), tiny shapes, bf16,
random values; and a local base-model folder laid out like `Qwen/Qwen2-7B` holding the same frozen LLM weights."""

import copy
import math

import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer

WHISPER_LAYERS, WHISPER_FFN, MELS, POSITIONS = 2, 256, 80, 1500
LINK_LAYERS, LINK_FFN, LINK_POSITIONS = 2, 96, 500
TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
LORA = dict(r=8, lora_alpha=32, lora_dropout=0.1, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"])


def _sinusoids(length, dim, interleaved):
    position = torch.arange(length, dtype=torch.float32)[:, None]
    if interleaved:  # wenet PositionalEncoding (link)
        table = torch.zeros(length, dim)
        frequency = torch.exp(torch.arange(0, dim, 2) * -(math.log(10000.0) / dim))
        table[:, 0::2], table[:, 1::2] = torch.sin(position * frequency), torch.cos(position * frequency)
        return table
    increment = math.log(10000) / (dim // 2 - 1)  # openai whisper sinusoids: [sin | cos] halves
    scaled = position * torch.exp(-increment * torch.arange(dim // 2))
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)


def _wenet_blocks(prefix, layers, dim, ffn, key_bias, generator):
    def rand(*shape):
        return 0.05 * torch.randn(*shape, generator=generator)

    tensors = {}
    for n in range(layers):
        block = f"{prefix}encoders.{n}."
        for name in ("linear_q", "linear_k", "linear_v", "linear_out"):
            tensors[f"{block}self_attn.{name}.weight"] = rand(dim, dim)
            if name != "linear_k" or key_bias:
                tensors[f"{block}self_attn.{name}.bias"] = rand(dim)
        tensors[f"{block}feed_forward.w_1.weight"], tensors[f"{block}feed_forward.w_1.bias"] = rand(ffn, dim), rand(ffn)
        tensors[f"{block}feed_forward.w_2.weight"], tensors[f"{block}feed_forward.w_2.bias"] = rand(dim, ffn), rand(dim)
        for norm in ("norm1", "norm2"):
            tensors[f"{block}{norm}.weight"], tensors[f"{block}{norm}.bias"] = 1 + rand(dim), rand(dim)
    tensors[f"{prefix}after_norm.weight"], tensors[f"{prefix}after_norm.bias"] = 1 + rand(dim), rand(dim)
    return tensors


def build_upstream(tmp_path, old_peft_naming=False, seed=0, width=64, text=None):
    """Write `C2SER_llm.pt` and a `Qwen2-7B`-like base folder under tmp_path; returns (checkpoint path, base dir,
    the peft LLM). `width` is the Whisper and link width (one tensor feeds the other, 1024 in the release); `text`
    overrides the Qwen2 sizes."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return 0.05 * torch.randn(*shape, generator=generator)

    tokenizer = build_tiny_qwen2_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    torch.manual_seed(seed)
    base = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tokenizer) + 8, eos_token_id=eos, bos_token_id=eos,
                                        tie_word_embeddings=False, **(text or TEXT))).eval()
    with torch.no_grad():  # bf16 values, like the Hub's Qwen2-7B and the checkpoint's frozen copy of it
        for param in base.parameters():
            param.copy_(param.to(torch.bfloat16).float())
    base_dir = tmp_path / "Qwen2-7B"
    copy.deepcopy(base).to(torch.bfloat16).save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)

    llm = get_peft_model(copy.deepcopy(base), LoraConfig(task_type="CAUSAL_LM", **LORA))
    with torch.no_grad():  # peft starts B at zero; random B makes the merge matter
        for name, param in llm.named_parameters():
            if "lora_" in name:
                param.copy_(rand(*param.shape) * 4)
    text_hidden = (text or TEXT)["hidden_size"]

    state = {
        "encoder.embed.conv.0.weight": rand(width, MELS, 3), "encoder.embed.conv.0.bias": rand(width),
        "encoder.embed.conv.2.weight": rand(width, width, 3), "encoder.embed.conv.2.bias": rand(width),
        "encoder.embed.pos_enc.pe": _sinusoids(POSITIONS, width, interleaved=False)[None],
        **_wenet_blocks("encoder.", WHISPER_LAYERS, width, WHISPER_FFN, key_bias=False, generator=generator),
        "ln_speech.weight": torch.ones(width), "ln_speech.bias": torch.zeros(width),
        "speech_transformer.embed.out.0.weight": rand(width, width), "speech_transformer.embed.out.0.bias": rand(width),
        "speech_transformer.embed.out.1.weight": 1 + rand(width), "speech_transformer.embed.out.1.bias": rand(width),
        "speech_transformer.embed.pos_enc.pe": _sinusoids(LINK_POSITIONS, width, interleaved=True)[None],
        **_wenet_blocks("speech_transformer.", LINK_LAYERS, width, LINK_FFN, key_bias=True, generator=generator),
        "speech_llama_proj.weight": rand(text_hidden, width), "speech_llama_proj.bias": rand(text_hidden),
        "speech_token_emded.weight": rand(4099, text_hidden),
        "speaker_head.weight": rand(4097, text_hidden), "speaker_head.bias": rand(4097),
    }
    for index in (1, 4, 7):
        state[f"down_sample_2.conv.{index}.weight"] = rand(width, width, 3)
        state[f"down_sample_2.conv.{index}.bias"] = rand(width)
    for key, value in llm.state_dict().items():
        state["llama_model." + (key.replace(".base_layer.", ".") if old_peft_naming else key)] = value
    state["embed_tokens.weight"] = state["llama_model.base_model.model.model.embed_tokens.weight"]
    state["lm_head.weight"] = state["llama_model.base_model.model.lm_head.weight"]
    state = {key: value.to(torch.bfloat16) for key, value in state.items()}  # the release is all bf16
    path = tmp_path / "C2SER_llm.pt"
    torch.save(state, path)
    return path, base_dir, llm
