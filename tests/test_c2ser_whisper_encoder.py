"""C2SERWhisperEncoder on a tiny config: parity with openai-whisper and with transformers' WhisperEncoder, padding,
errors. 50 positions, so a "30 s" input is 100 mel frames."""

import pytest
import torch
import whisper.model
from torch import nn
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from c2ser_hf.modeling.modeling_c2ser_whisper import C2SERWhisperEncoder
from c2ser_hf.modeling.speech_lengths import encoder_lengths

MAX_POSITIONS = 50
FULL = 2 * MAX_POSITIONS


def tiny_config(**overrides):
    values = dict(
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=256,  # 4 x d_model, as openai-whisper fixes it
        max_source_positions=MAX_POSITIONS,
        attn_implementation="eager",
    )
    values.update(overrides)
    return WhisperConfig(**values)


def randomized(module, seed=0):
    """Random weights everywhere, norms and the position table included, so no part is trivially neutral."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            tensor.copy_(0.2 * torch.randn(tensor.shape, generator=generator) + (1.0 if tensor.dim() == 1 else 0.0))
    return module.eval()


def encoder(seed=0, **overrides):
    return randomized(C2SERWhisperEncoder(tiny_config(**overrides)), seed)


def mel(*frames, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(80, n, generator=generator) for n in frames]


def pad(items, width=None, fill=0.0):
    width = width or max(x.shape[-1] for x in items)
    batch = torch.full((len(items), 80, width), fill)
    mask = torch.zeros(len(items), width, dtype=torch.long)
    for i, x in enumerate(items):
        batch[i, :, : x.shape[-1]] = x
        mask[i, : x.shape[-1]] = 1
    return batch, mask


OPENAI_TO_HF = [
    ("blocks.", "layers."),
    (".attn.query.", ".self_attn.q_proj."),
    (".attn.key.", ".self_attn.k_proj."),
    (".attn.value.", ".self_attn.v_proj."),
    (".attn.out.", ".self_attn.out_proj."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".mlp.0.", ".fc1."),
    (".mlp.2.", ".fc2."),
    (".mlp_ln.", ".final_layer_norm."),
    ("ln_post.", "layer_norm."),
    ("positional_embedding", "embed_positions.weight"),
]


def openai_state_dict_to_hf(state_dict):
    converted = {}
    for key, value in state_dict.items():
        for old, new in OPENAI_TO_HF:
            key = key.replace(old, new)
        converted[key] = value
    return converted


def openai_variable_length(audio_encoder, features):
    """openai-whisper's own modules on any length, positions sliced from 0 as C2SER (wenet) does."""
    x = nn.functional.gelu(audio_encoder.conv1(features))
    x = nn.functional.gelu(audio_encoder.conv2(x)).permute(0, 2, 1)
    x = x + audio_encoder.positional_embedding[: x.shape[1]]
    for block in audio_encoder.blocks:
        x = block(x)
    return audio_encoder.ln_post(x)


def test_matches_openai_whisper_audio_encoder():
    torch.manual_seed(0)
    reference = randomized(whisper.model.AudioEncoder(n_mels=80, n_ctx=MAX_POSITIONS, n_state=64, n_head=4, n_layer=2))
    model = C2SERWhisperEncoder(tiny_config()).eval()
    model.load_state_dict(openai_state_dict_to_hf(reference.state_dict()), strict=True)

    full, odd = mel(FULL, 37)
    with torch.no_grad():
        diff_full = (model(full[None]).last_hidden_state - reference(full[None])).abs().max().item()
        expected_odd = openai_variable_length(reference, odd[None])
        diff_odd = (model(odd[None]).last_hidden_state - expected_odd).abs().max().item()
    print(f"\nopenai-whisper AudioEncoder, {FULL} frames: max abs diff {diff_full:.2e}")
    print(f"openai-whisper modules, 37 frames (pe[:19]): max abs diff {diff_odd:.2e}")
    assert diff_full <= 1e-4
    assert diff_odd <= 1e-4


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_padded_batch_equals_one_by_one(attn_implementation):
    model = encoder(attn_implementation=attn_implementation)
    items = mel(FULL - 3, 37, 62)
    # garbage in the padding and two all-padding columns: neither may reach the real frames
    batch, mask = pad(items, width=FULL, fill=1e3)
    with torch.no_grad():
        out = model(batch, mask)
        alone = [model(x[None]).last_hidden_state[0] for x in items]

    lengths = encoder_lengths(torch.tensor([x.shape[-1] for x in items]))
    assert lengths.tolist() == [49, 19, 31] == [a.shape[0] for a in alone]
    assert out.last_hidden_state.shape == (3, 49, 64)
    assert torch.equal(out.frame_mask, torch.arange(49)[None, :] < lengths[:, None])
    diffs = [(out.last_hidden_state[i, :n] - a).abs().max().item() for i, (n, a) in enumerate(zip(lengths, alone))]
    diff = max(diffs)
    print(f"\n{attn_implementation}: padded batch vs one by one, max abs diff {diff:.2e}")
    assert diff <= 1e-5
    assert not out.last_hidden_state[~out.frame_mask].any()


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_full_length_equals_whisper_encoder(attn_implementation):
    model = encoder(attn_implementation=attn_implementation)
    parent = WhisperEncoder(model.config).eval()
    parent.load_state_dict(model.state_dict(), strict=True)
    features = torch.stack(mel(FULL, FULL))
    mask = torch.ones(2, FULL, dtype=torch.long)

    with torch.no_grad():
        ours = model(features, mask, output_hidden_states=True)
        theirs = parent(features, output_hidden_states=True)
    assert torch.equal(ours.last_hidden_state, theirs.last_hidden_state)
    assert len(ours.hidden_states) == len(theirs.hidden_states) == 3
    assert all(torch.equal(a, b) for a, b in zip(ours.hidden_states, theirs.hidden_states))
    assert ours.frame_mask.all()

    # training: same dropout and layerdrop draws from the same seed
    model.config.dropout = model.config.activation_dropout = 0.1
    model.config.encoder_layerdrop = 0.5
    trained, reference = C2SERWhisperEncoder(model.config).train(), WhisperEncoder(model.config).train()
    trained.load_state_dict(model.state_dict())
    reference.load_state_dict(model.state_dict())
    for seed in range(3):
        torch.manual_seed(seed)
        a = trained(features).last_hidden_state
        torch.manual_seed(seed)
        assert torch.equal(a, reference(features).last_hidden_state)


def test_encoder_lengths_follow_conv2():
    model = encoder()
    lengths = [1, 2, 3, 4, 37, 62, 99, FULL]
    assert encoder_lengths(lengths).tolist() == [1, 1, 2, 2, 19, 31, 50, 50]
    assert encoder_lengths(lengths).tolist() == model._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()


@pytest.mark.parametrize(
    "frames, mask_rows, message",
    [
        ((FULL + 1,), None, r"item\(s\) \[0\] have \[101\] mel frames; the encoder takes at most 100"),
        ((FULL + 1, 20), [FULL, FULL + 1], r"item\(s\) \[1\] have \[101\] mel frames"),
        ((0,), None, r"item\(s\) \[0\] have no mel frames"),
        ((30, 30), [30, 0], r"item\(s\) \[1\] have no mel frames"),
    ],
)
def test_refuses_too_long_and_empty_items(frames, mask_rows, message):
    model = encoder()
    features = torch.randn(len(frames), 80, max(frames))
    mask = None
    if mask_rows is not None:
        mask = (torch.arange(max(frames))[None, :] < torch.tensor(mask_rows)[:, None]).long()
    with pytest.raises(ValueError, match=message):
        model(features, mask)


def test_refuses_malformed_input():
    model = encoder()
    features = torch.randn(2, 80, 30)
    with pytest.raises(ValueError, match="mel bins"):
        model(torch.randn(2, 40, 30))
    with pytest.raises(ValueError, match="right-padded"):
        model(features, torch.tensor([[1] * 30, [0] * 10 + [1] * 20]))
    with pytest.raises(ValueError, match="like input_features"):
        model(features, torch.ones(2, 29))
    with pytest.raises(ValueError, match="feature_attention_mask"):
        model(features, attention_mask=torch.ones(2, 30))


def test_matches_openai_whisper_on_real_30_s_and_4_s_lengths():
    """Whisper-medium's 1500 positions: a real 30 s input (3000 frames) and the 4.10 s worked example (410 frames,
    docs/fidelity.md#whisper) at tiny width."""
    reference = randomized(whisper.model.AudioEncoder(n_mels=80, n_ctx=1500, n_state=64, n_head=4, n_layer=2), seed=3)
    model = C2SERWhisperEncoder(tiny_config(max_source_positions=1500)).eval()
    model.load_state_dict(openai_state_dict_to_hf(reference.state_dict()), strict=True)
    thirty, example = mel(3000, 410, seed=4)
    with torch.no_grad():
        diff_30 = (model(thirty[None]).last_hidden_state - reference(thirty[None])).abs().max().item()
        short = model(example[None]).last_hidden_state
        diff_4 = (short - openai_variable_length(reference, example[None])).abs().max().item()
    print(f"\nopenai-whisper, 30 s (3000 frames): max abs diff {diff_30:.2e}; 410 frames: {diff_4:.2e}")
    assert short.shape[1] == 205
    assert diff_30 <= 1e-4 and diff_4 <= 1e-4
