"""The converted tiny model against a reference written from the released model's formulas, not from our modules
(each stage is a section of docs/fidelity.md).

The reference reads the synthetic `C2SER_llm.pt` by its upstream key names (bf16 → fp32) and recomputes, with plain
torch ops: the log-mel front end, wenet's Whisper encoder, the causal downsampler, the acoustic tokens from FunASR's
own Emotion2vec (first 10 frames, zero-padded to the link width), the link and projection, the speech BOS/EOS rows
and the order [prompt][BOS][acoustic][whisper][EOS], and Qwen2 + LoRA applied unmerged, W x + 4·B(A x), through peft.
Both sides run fp32; bound 1e-5.

Two sizes: the synthetic checkpoint as built (Whisper/link width 64: one Whisper head of 64, no acoustic zero pad),
and a wider one (128: two Whisper heads, 64-d Emotion2Vec-S vectors zero-padded to 128) so that head splitting and
the acoustic zero pad are exercised too.
"""

import math

import librosa
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForMultimodalLM, AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.convert_c2ser import convert_c2ser

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf
from upstream_c2ser import build_upstream

TOLERANCE = 1e-5
WHISPER_HEAD_DIM = 64  # whisper-medium: 1024 / 16 heads; the checkpoint does not store head counts
LINK_HEADS = 4  # `speech_transformer` attention_heads
LORA_SCALING = 32 / 8  # lora_alpha / r
SPEECH_BOS, SPEECH_EOS = 4097, 4098  # rows of `speech_token_emded`
ACOUSTIC_TOKENS = 10  # hard-coded in upstream `generate`


# ---------------------------------------------------------------- reference: plain torch from the released formulas


def reference_log_mel(waveform: torch.Tensor) -> torch.Tensor:
    """docs/fidelity.md#front-end → (T_mel, 80)."""
    stft = torch.stft(waveform, n_fft=400, hop_length=160, window=torch.hann_window(400), return_complex=True)
    power = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
    log_spec = torch.clamp(filters @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).T


def gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))  # exact GELU (wenet `New_gelu4npu`)


def linear(x, sd, name):
    out = x @ sd[f"{name}.weight"].T
    return out + sd[f"{name}.bias"] if f"{name}.bias" in sd else out


def layer_norm(x, sd, name):
    return F.layer_norm(x, x.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps=1e-5)


def self_attention(x, sd, name, heads):
    """wenet MultiHeadedAttention, no mask (one unpadded item): softmax(q kᵀ / √d_k) v, then linear_out."""
    batch, length, dim = x.shape
    d_k = dim // heads
    q, k, v = (linear(x, sd, f"{name}.linear_{p}").view(batch, length, heads, d_k).transpose(1, 2) for p in "qkv")
    probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_k), dim=-1)
    return linear((probs @ v).transpose(1, 2).reshape(batch, length, dim), sd, f"{name}.linear_out")


def wenet_blocks(x, sd, prefix, heads, activation):
    """Pre-LN wenet TransformerEncoder blocks, then `after_norm`."""
    layers = len({k.split(".")[-3] for k in sd if k.startswith(f"{prefix}encoders.") and k.endswith(".norm1.weight")})
    for n in range(layers):
        block = f"{prefix}encoders.{n}"
        x = x + self_attention(layer_norm(x, sd, f"{block}.norm1"), sd, f"{block}.self_attn", heads)
        hidden = activation(linear(layer_norm(x, sd, f"{block}.norm2"), sd, f"{block}.feed_forward.w_1"))
        x = x + linear(hidden, sd, f"{block}.feed_forward.w_2")
    return layer_norm(x, sd, f"{prefix}after_norm")


def reference_whisper(mel, sd):
    """docs/fidelity.md#whisper: (T_mel, 80) → (1, ceil(T_mel/2), d)."""
    x = mel.T[None]
    x = gelu(F.conv1d(x, sd["encoder.embed.conv.0.weight"], sd["encoder.embed.conv.0.bias"], padding=1))
    x = gelu(F.conv1d(x, sd["encoder.embed.conv.2.weight"], sd["encoder.embed.conv.2.bias"], stride=2, padding=1))
    x = x.transpose(1, 2)
    x = x + sd["encoder.embed.pos_enc.pe"][:, : x.shape[1]]  # xscale 1.0
    heads = x.shape[-1] // WHISPER_HEAD_DIM
    return wenet_blocks(x, sd, "encoder.", heads, gelu)


def reference_downsample(x, sd):
    """docs/fidelity.md#downsampler, GxlConv1dSubsampling4: (2, 0) zero pad, k3 conv with strides 1, 2, 2, GELU."""
    x = x.transpose(1, 2)
    for index, stride in ((1, 1), (4, 2), (7, 2)):
        conv = f"down_sample_2.conv.{index}"
        x = gelu(F.conv1d(F.pad(x, (2, 0)), sd[f"{conv}.weight"], sd[f"{conv}.bias"], stride=stride))
    return x.transpose(1, 2)


def reference_link(x, sd):
    """docs/fidelity.md#link: Linear → LayerNorm → ·√d + pe[:T] → ReLU pre-LN blocks → after_norm →
    speech_llama_proj."""
    x = layer_norm(linear(x, sd, "speech_transformer.embed.out.0"), sd, "speech_transformer.embed.out.1")
    x = x * math.sqrt(x.shape[-1]) + sd["speech_transformer.embed.pos_enc.pe"][:, : x.shape[1]]
    x = wenet_blocks(x, sd, "speech_transformer.", LINK_HEADS, torch.relu)
    return linear(x, sd, "speech_llama_proj")


def reference_speech_block(waveform, sd, emotion2vec):
    """[E[4097]] + link(acoustic ×10 ; whisper ×T_ds) + [E[4098]] → (1, 12 + T_ds, text hidden), and the parts."""
    mel = reference_log_mel(waveform)
    whisper = reference_whisper(mel, sd)
    downsampled = reference_downsample(whisper, sd)
    with torch.no_grad():  # FunASR's Emotion2vec on the raw waveform (no normalisation): `utt_x` = first 10 frames
        acoustic = emotion2vec.extract_features(waveform[None], padding_mask=None)["x"][:, :ACOUSTIC_TOKENS]
    acoustic = F.pad(acoustic, (0, downsampled.shape[-1] - acoustic.shape[-1]))
    speech = reference_link(torch.cat([acoustic, downsampled], dim=1), sd)
    table = sd["speech_token_emded.weight"]
    block = torch.cat([table[None, [SPEECH_BOS]], speech, table[None, [SPEECH_EOS]]], dim=1)
    return block, {"mel": mel, "whisper": whisper, "acoustic": acoustic}


def reference_llm(llm, sd):
    """The peft model (LoRA unmerged, scaling 4) with the checkpoint's bf16 values in fp32, eager attention."""
    state = {}
    for key in llm.state_dict():
        source = "llama_model." + key
        state[key] = sd[source if source in sd else source.replace(".base_layer.", ".")]
    llm.load_state_dict(state, strict=True)
    llm.eval()
    llm.base_model.model.set_attn_implementation("eager")  # what the release's pinned versions run
    for module in llm.modules():
        if hasattr(module, "scaling") and isinstance(module.scaling, dict):
            assert module.scaling["default"] == LORA_SCALING
    return llm


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module", params=[64, 128], ids=["width64", "width128"])
def setup(request, tmp_path_factory):
    width = request.param
    root = tmp_path_factory.mktemp(f"reference{width}")
    conf = tiny_conf()  # Emotion2Vec-S vectors of 64: zero-padded to the link width when that is wider
    emotion2vec = build_funasr_model(conf, seed=5)
    save_fairseq(emotion2vec, conf, root / "checkpoint.pt")
    checkpoint, base_dir, llm = build_upstream(root, seed=4, width=width)
    convert_c2ser(checkpoint, root / "checkpoint.pt", root / "out", base_model=base_dir, llm_dtype=torch.float32)
    sd = {key: value.float() for key, value in torch.load(checkpoint, weights_only=True).items()}
    assert sd["encoder.embed.conv.0.weight"].shape[0] == width
    model = AutoModelForMultimodalLM.from_pretrained(root / "out").eval()
    processor = AutoProcessor.from_pretrained(root / "out")
    return sd, emotion2vec, reference_llm(llm, sd), model, processor


def waveform_1_3_s(seed=0):
    """1.3 s at 16 kHz (T_mel 130 → T_enc 65 → T_ds 17; 64 Emotion2Vec-S frames) on the int16 grid, so that the
    upstream int16 round trip (docs/fidelity.md#resampling) is the identity."""
    rng = np.random.default_rng(seed)
    t = np.arange(20800) / 16000
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + 0.02 * rng.normal(size=t.shape)
    return (np.round(wav * 32768) / 32768).astype(np.float32)


def max_diff(a, b):
    assert a.shape == b.shape, (tuple(a.shape), tuple(b.shape))
    return (a.float() - b.float()).abs().max().item()


def test_speech_embeddings_and_first_step_logits_equal_the_upstream_formulas(setup):
    sd, emotion2vec, llm, model, processor = setup
    width = sd["encoder.embed.conv.0.weight"].shape[0]
    assert model.config.audio_config.encoder_attention_heads == width // WHISPER_HEAD_DIM
    assert model.config.link_config.num_attention_heads == LINK_HEADS
    wav = waveform_1_3_s()
    inputs = processor(wav)  # the implicit prompt
    reference_block, parts = reference_speech_block(torch.from_numpy(wav), sd, emotion2vec)
    t_ds = math.ceil(math.ceil(130 / 2) / 4)
    assert reference_block.shape == (1, 12 + t_ds, model.config.text_config.hidden_size)

    ours = model.model
    with torch.no_grad():
        mel = max_diff(inputs["input_features"][0].T, parts["mel"])
        whisper = max_diff(ours.audio_tower(inputs["input_features"], inputs["feature_attention_mask"]).last_hidden_state,
                           parts["whisper"])
        acoustic_ours = ours.acoustic_tower(inputs["input_values"], inputs["input_values_mask"],
                                            utterance_source=model.config.acoustic_token_source).utterance_features
        acoustic = max_diff(F.pad(acoustic_ours, (0, width - acoustic_ours.shape[-1])), parts["acoustic"])
        speech, lengths = ours.get_speech_embeddings(inputs["input_features"], inputs["feature_attention_mask"],
                                                     inputs["input_values"], inputs["input_values_mask"])
        speech_diff = max_diff(speech, reference_block[0])

        ids = inputs["input_ids"][0]
        prompt = ids[ids != processor.speech_token_id]
        assert torch.equal(ids, torch.cat([prompt, torch.full((12 + t_ds,), processor.speech_token_id)]))
        embeds = torch.cat([llm.get_input_embeddings()(prompt[None]), reference_block], dim=1)
        expected = llm(inputs_embeds=embeds, position_ids=torch.arange(embeds.shape[1])[None]).logits[0, -1]
        logits = model(**inputs).logits[0, -1]
        logits_diff = max_diff(logits, expected)

    print(f"\n[width {width}] max abs diff vs the released formulas: log-mel {mel:.2e}, whisper encoder {whisper:.2e}, "
          f"acoustic tokens {acoustic:.2e}, speech embeddings {speech_diff:.2e} ({len(speech)} rows), "
          f"first-step logits {logits_diff:.2e} (|logits| max {expected.abs().max().item():.1f})")
    assert lengths.tolist() == [12 + t_ds]
    assert mel <= 1e-6
    assert speech_diff <= TOLERANCE
    assert logits_diff <= TOLERANCE
