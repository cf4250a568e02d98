"""How many audio windows go into one model call, and how much padding a batch may carry, by device.

A CPU gains little from big batches: its matrix products are already efficient one item at a time, so padded frames
are pure cost (Emotion2Vec-S even runs a padded CPU batch item by item). A GPU is fast only when each call gives it
much work, so it takes bigger batches and tolerates more padding. `--batch-size auto` sizes batches from the memory
the device has free and the memory one window needs; a batch that still runs out of memory is split in halves
(`c2ser_hf/inference.py`).
"""

import math

CPU_BATCH_SIZE = 8
# the share of a batch's computed frames that may be padding (batch size × longest item)
CPU_PADDING_BUDGET = 0.15
ACCELERATOR_PADDING_BUDGET = 0.4
# Emotion2Vec-S alone (extract-features, the probe): its CNN runs on the items packed end to end, so padding costs only
# in the transformer, while every extra call costs a whole forward's kernel launches. On an H200, 8 clips of 2-10 s
# (33% padding as one batch) ran faster as one batch than split 7 + 1 under the 0.4 budget in fp32, TF32 and bf16
# (49.5 / 22.8 / 24.6 ms against 55.8 / 31.1 / 40.2 ms; bench/bench_emotion2vec_s.py).
ACOUSTIC_ACCELERATOR_PADDING_BUDGET = 0.5
# what `auto` leaves to the allocator's fragmentation and to what the estimate below does not count
MEMORY_MARGIN = 0.7
MAX_AUTO_BATCH_SIZE = 256
# tokens of a prompt; the released prompts have about 20 with Qwen2's tokenizer
PROMPT_TOKENS = 48


def padding_budget(device) -> float:
    return CPU_PADDING_BUDGET if _device_type(device) == "cpu" else ACCELERATOR_PADDING_BUDGET


def acoustic_padding_budget(device) -> float:
    """The padding budget of Emotion2Vec-S batches (a CPU runs them item by item anyway)."""
    return CPU_PADDING_BUDGET if _device_type(device) == "cpu" else ACOUSTIC_ACCELERATOR_PADDING_BUDGET


def plan_batches(lengths: list[int], max_batch_size: int = CPU_BATCH_SIZE,
                 max_padding: float = CPU_PADDING_BUDGET) -> list[list[int]]:
    """Group item indices longest first; a batch closes when it is full or when adding the next item would make
    padding exceed `max_padding` of the batch's computed frames (batch size × longest)."""
    batches, current, current_total = [], [], 0
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if current:
            computed = lengths[current[0]] * (len(current) + 1)
            padded = 1 - (current_total + lengths[index]) / computed
            if len(current) >= max_batch_size or padded > max_padding:
                batches.append(current)
                current, current_total = [], 0
        current.append(index)
        current_total += lengths[index]
    if current:
        batches.append(current)
    return batches


def window_bytes(config, window_samples: int, llm_bytes: int, new_tokens: int = 0, beams: int = 1,
                 tree_tokens: int = 0) -> int:
    """Estimated peak memory of one window in a batch: the larger of the fp32 encoders' activations (with a dense
    attention matrix per head and its softmax, as eager attention makes them; SDPA needs less), which are freed
    before the language model runs, and the language model's KV cache over prompt + speech + answer (per beam) or +
    the scoring tree, with its widest per-token activations and its logits."""
    text = config.text_config
    mel = window_samples // 160
    whisper_frames = math.ceil(mel / 2)
    speech = 2 + config.num_acoustic_tokens + math.ceil(whisper_frames / config.downsample_rate)
    tokens = PROMPT_TOKENS + speech
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    kv_per_token = text.num_hidden_layers * 2 * text.num_key_value_heads * head_dim * llm_bytes
    cache = kv_per_token * ((tokens + new_tokens) * beams + tree_tokens)
    activations = (tokens + tree_tokens) * (3 * text.intermediate_size + 4 * text.hidden_size) * llm_bytes
    logits = 2 * text.vocab_size * 4 * max(beams, 1)
    audio = config.audio_config
    whisper = 4 * (whisper_frames * (audio.encoder_ffn_dim + 4 * audio.d_model)
                   + 2 * audio.encoder_attention_heads * whisper_frames**2)
    return max(whisper + acoustic_bytes(config.acoustic_config, window_samples), cache + activations + logits)


def acoustic_bytes(config, samples: int) -> int:
    """Estimated fp32 activations of Emotion2Vec-S on one clip: its first convolution's output, the widest block
    activations, and per head a dense attention matrix, its softmax and the dense ALiBi bias."""
    frames = samples // config.inputs_to_logits_ratio + getattr(config, "num_extra_tokens", 0)
    return 4 * (samples * config.conv_dim[0] // config.conv_stride[0]
                + frames * (config.intermediate_size + 4 * config.hidden_size)
                + 3 * config.num_attention_heads * frames**2)


def auto_batch_size(free_bytes: int | None, one_item_bytes: int) -> int:
    """Items per batch for `--batch-size auto`: `CPU_BATCH_SIZE` where the batch size does not come from memory
    (`free_bytes` None: a CPU), else as many items as `MEMORY_MARGIN` of `free_bytes` holds (at least 1, at most
    `MAX_AUTO_BATCH_SIZE`)."""
    if free_bytes is None:
        return CPU_BATCH_SIZE
    return max(1, min(MAX_AUTO_BATCH_SIZE, int(MEMORY_MARGIN * free_bytes // one_item_bytes)))


def c2ser_batch_size(model, processor, longest_samples: int, generate_kwargs: dict | None, scores: bool) -> int:
    """`auto_batch_size` for C2SER windows of `longest_samples`: generating with `generate_kwargs` (None: not
    generating; new tokens × beams from them or the generation config) and/or scoring (the scoring tree)."""
    from .modeling.continuation_scoring import tree_size

    config = model.generation_config
    generating = generate_kwargs is not None
    new_tokens = (generate_kwargs.get("max_new_tokens") or config.max_new_tokens or 0) if generating else 0
    beams = (generate_kwargs.get("num_beams") or config.num_beams or 1) if generating else 1
    tree = tree_size(processor.emotion_candidates()[1]) if scores else 0
    llm_bytes = model.get_input_embeddings().weight.element_size()
    one = window_bytes(model.config, min(longest_samples, processor.max_samples), llm_bytes, new_tokens, beams, tree)
    return auto_batch_size(free_device_bytes(model.device), one)


def free_device_bytes(device) -> int | None:
    """Free memory of a CUDA device (None elsewhere: there the batch size does not come from memory)."""
    import torch

    if _device_type(device) != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return free


def _device_type(device) -> str:
    return getattr(device, "type", None) or str(device).split(":")[0]


__all__ = ["acoustic_bytes", "acoustic_padding_budget", "auto_batch_size", "c2ser_batch_size", "free_device_bytes",
           "padding_budget", "plan_batches", "window_bytes"]
