"""C2SER on a tiny configuration: connector numerics against the UPSTREAM formulas, generation, saving."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from transformers import AutoModel, AutoModelForMultimodalLM

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.model_sizes import c2ser_config
from c2ser_hf.modeling import C2SERForConditionalGeneration, C2SERModel

from test_helpers import randomized, run_without_package

SPEECH_ID, EOS_ID, VOCAB = 299, 1, 300
PROMPT = [5, 6, 7, 8]



@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = c2ser_config("tiny", vocab_size=VOCAB, speech_token_id=SPEECH_ID, eos_token_id=EOS_ID)
    return randomized(C2SERForConditionalGeneration(config))


def clip_inputs(model, samples: list[int], seed=0):
    """Model inputs for clips of the given lengths: random log-mel and waveforms, left-padded prompt + placeholders."""
    rng = np.random.default_rng(seed)
    mel_lengths = torch.tensor([n // 160 for n in samples])
    speech = model.model.speech_lengths(mel_lengths).tolist()
    sequences = [PROMPT + [SPEECH_ID] * s for s in speech]
    width = max(map(len, sequences))
    batch = len(samples)
    inputs = {
        "input_ids": torch.zeros(batch, width, dtype=torch.long),
        "attention_mask": torch.zeros(batch, width, dtype=torch.long),
        "input_features": torch.zeros(batch, 80, int(mel_lengths.max())),
        "feature_attention_mask": torch.zeros(batch, int(mel_lengths.max()), dtype=torch.long),
        "input_values": torch.zeros(batch, max(samples)),
        "input_values_mask": torch.zeros(batch, max(samples), dtype=torch.long),
    }
    for i, (n, t, seq) in enumerate(zip(samples, mel_lengths.tolist(), sequences)):
        inputs["input_ids"][i, width - len(seq):] = torch.tensor(seq)
        inputs["attention_mask"][i, width - len(seq):] = 1
        inputs["input_features"][i, :, :t] = torch.from_numpy(rng.normal(0, 1, (80, t)).astype(np.float32))
        inputs["feature_attention_mask"][i, :t] = 1
        inputs["input_values"][i, :n] = torch.from_numpy(rng.normal(0, 0.1, n).astype(np.float32))
        inputs["input_values_mask"][i, :n] = 1
    return inputs


def one_item(inputs, i):
    """Item i alone, with its padding removed."""
    keep = inputs["attention_mask"][i].bool()
    t, n = int(inputs["feature_attention_mask"][i].sum()), int(inputs["input_values_mask"][i].sum())
    return {
        "input_ids": inputs["input_ids"][i : i + 1, keep],
        "attention_mask": inputs["attention_mask"][i : i + 1, keep],
        "input_features": inputs["input_features"][i : i + 1, :, :t],
        "feature_attention_mask": inputs["feature_attention_mask"][i : i + 1, :t],
        "input_values": inputs["input_values"][i : i + 1, :n],
        "input_values_mask": inputs["input_values_mask"][i : i + 1, :n],
    }


def greedy(model, inputs, **kwargs):
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False, repetition_penalty=1.0, **kwargs)
    return out[:, inputs["input_ids"].shape[1]:]


def test_downsampler_matches_upstream_formula(model):
    """UPSTREAM §1.4: three causal k3 convs (strides 1, 2, 2), each after a 2-frame left zero pad, GELU after each."""
    downsampler = model.model.downsampler
    x = torch.randn(2, 205, 64)
    convs = [m for m in downsampler.conv if isinstance(m, torch.nn.Conv1d)]
    reference = x.transpose(1, 2)
    for conv, stride in zip(convs, (1, 2, 2)):
        reference = F.gelu(F.conv1d(F.pad(reference, (2, 0)), conv.weight, conv.bias, stride=stride))
    with torch.no_grad():
        ours = downsampler(x)
    diff = (ours - reference.transpose(1, 2)).abs().max().item()
    print(f"downsampler vs UPSTREAM §1.4 formula: max abs diff = {diff:.2e}")
    assert ours.shape == (2, 52, 64) and diff <= 1e-6
    assert downsampler.output_lengths(torch.tensor([205, 1500, 1])).tolist() == [52, 375, 1]


def test_link_matches_upstream_formula(model):
    """UPSTREAM §1.6: LN(Linear(x))·√d + interleaved sinusoids, pre-LN blocks (ReLU FFN, all biases), final LN."""
    link = model.model.link
    dim, heads = 64, model.config.link_attention_heads
    table = link.position_table[0]
    assert torch.allclose(table[:, 0::2], torch.sin(torch.arange(500.0)[:, None] * torch.exp(torch.arange(0, dim, 2) * -(math.log(10000.0) / dim))))
    x, mask = torch.randn(2, 30, dim), torch.ones(2, 30, dtype=torch.bool)
    mask[1, 21:] = False

    h = link.embed[1](link.embed[0](x)) * math.sqrt(dim) + table[:30]
    for layer in link.layers:
        a = layer.self_attn_layer_norm(h)
        attn = layer.self_attn
        q, k, v = (proj(a).view(2, 30, heads, -1).transpose(1, 2) for proj in (attn.q_proj, attn.k_proj, attn.v_proj))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dim // heads)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        h = h + attn.out_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 30, dim))
        h = h + layer.fc2(F.relu(layer.fc1(layer.final_layer_norm(h))))
    reference = link.after_norm(h)
    with torch.no_grad():
        ours = link(x, mask)
    diff = (ours - reference).abs().max().item()
    print(f"link vs UPSTREAM §1.6 formula: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_speech_block_layout_and_lengths(model):
    """UPSTREAM §1.5, §1.8, §1.14: [BOS] acoustic×10 whisper×T_ds [EOS], projected; 12 + T_ds rows per item."""
    inputs = clip_inputs(model, [65621, 16000])
    assert model.model.speech_lengths(torch.tensor([410, 3000, 1139])).tolist() == [64, 387, 155]
    with torch.no_grad():
        rows, lengths = model.model.get_speech_embeddings(
            inputs["input_features"], inputs["feature_attention_mask"], inputs["input_values"], inputs["input_values_mask"]
        )
    assert lengths.tolist() == [64, 12 + 13] and rows.shape == (89, 64)
    bos, eos = model.model.speech_boundary.weight
    assert torch.equal(rows[0], bos) and torch.equal(rows[63], eos) and torch.equal(rows[64], bos)
    assert rows.dtype == torch.float32

    # item 0 by hand: acoustic tokens (first 10 frames, zero-padded 32 → 64) first, then the downsampled Whisper
    # frames, through the link and Linear(link → LLM width)
    core = model.model
    with torch.no_grad():
        whisper = core.downsampler(core.audio_tower(inputs["input_features"][:1, :, :410]).last_hidden_state)
        frames = core.acoustic_tower(inputs["input_values"][:1, :65621]).last_hidden_state[:, :10]
        acoustic = F.pad(frames, (0, 64 - 32))
        block = torch.cat([acoustic, whisper], dim=1)
        expected = F.linear(core.link(block, torch.ones(1, 62, dtype=torch.bool)), core.projector.weight, core.projector.bias)
    diff = (rows[1:63] - expected[0]).abs().max().item()
    print(f"speech block vs hand-assembled UPSTREAM §1.5-1.8 path: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_batched_greedy_equals_one_by_one(model):
    inputs = clip_inputs(model, [48000, 9000, 30000], seed=1)
    batched = greedy(model, inputs)
    for i in range(3):
        alone = greedy(model, one_item(inputs, i))
        assert batched[i, : alone.shape[1]].tolist() == alone[0].tolist(), f"item {i}"


def test_generation_with_cache_equals_without(model):
    inputs = clip_inputs(model, [20000, 12000], seed=2)
    assert greedy(model, inputs).tolist() == greedy(model, inputs, use_cache=False).tolist()


def test_placeholder_count_mismatch_is_an_error(model):
    inputs = clip_inputs(model, [16000])
    inputs["input_ids"] = inputs["input_ids"][:, 1:]
    inputs["attention_mask"] = inputs["attention_mask"][:, 1:]
    inputs["input_ids"][0, -1] = 9  # one placeholder fewer
    with pytest.raises(ValueError, match=r"placeholder count per item \[24\] does not match .* \[25\]"):
        model(**inputs)


def test_labels_give_a_loss_that_training_lowers(model, tmp_path):
    torch.manual_seed(3)
    trainee = C2SERForConditionalGeneration(model.config).train()
    inputs = clip_inputs(trainee, [16000, 8000])
    labels = inputs["input_ids"].clone()
    labels[labels == SPEECH_ID] = -100
    labels[inputs["attention_mask"] == 0] = -100
    optimizer = torch.optim.AdamW(trainee.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        loss = trainee(**inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert trainee.model.audio_tower.conv1.weight.grad is not None


def test_save_load_and_generation_config(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = AutoModelForMultimodalLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is C2SERForConditionalGeneration
    inputs = clip_inputs(model, [20000, 7000], seed=4)
    assert greedy(loaded, inputs).tolist() == greedy(model, inputs).tolist()
    generation = loaded.generation_config
    assert (generation.num_beams, generation.repetition_penalty, generation.max_new_tokens) == (4, 1.05, 400)
    assert generation.eos_token_id == EOS_ID
    assert type(AutoModel.from_pretrained(tmp_path)) is C2SERModel


def test_encoders_stay_fp32_under_a_bf16_language_model(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = C2SERForConditionalGeneration.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    assert loaded.model.language_model.embed_tokens.weight.dtype == torch.bfloat16
    for name in ("audio_tower", "acoustic_tower", "downsampler", "link", "projector", "speech_boundary"):
        assert all(p.dtype == torch.float32 for p in getattr(loaded.model, name).parameters()), name
    inputs = clip_inputs(model, [16000])
    assert greedy(loaded, inputs).shape == (1, 8)


REMOTE_SCRIPT = """
import torch
from transformers import AutoModelForMultimodalLM

model = AutoModelForMultimodalLM.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
inputs = torch.load(sys.argv[2])
with torch.no_grad():
    out = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False, repetition_penalty=1.0)
torch.save(out, sys.argv[3])
print(type(model).__module__)
"""


def test_loads_with_remote_code_where_the_package_is_absent(model, tmp_path):
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    copied = {p.name for p in folder.glob("*.py")}
    assert {"modeling_c2ser.py", "modeling_c2ser_whisper.py", "modeling_emotion2vec_s.py"} <= copied
    inputs = clip_inputs(model, [20000, 9000], seed=5)
    torch.save(inputs, tmp_path / "inputs.pt")
    result = run_without_package(REMOTE_SCRIPT, [folder, tmp_path / "inputs.pt", tmp_path / "out.pt"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout
    remote = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        local = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False, repetition_penalty=1.0)
    assert torch.equal(remote, local)


def test_scored_continuations_equal_full_forward_likelihoods(model):
    inputs = clip_inputs(model, [30000, 9000], seed=6)
    # shared leading runs (nested, and one continuation that is exactly a shared run) and separate ones
    continuations = [[10, 11, 12, EOS_ID], [10, 11, 13, EOS_ID], [10, 11], [10, 14, EOS_ID], [20, EOS_ID],
                     [30, 31, 32, 33, 34, EOS_ID], [40], [41, 42]]
    scores = model.score_continuations(continuations, chunk_size=2, **inputs)
    assert scores.shape == (2, 8)
    worst = 0.0
    for i in range(2):
        item = one_item(inputs, i)
        for k, tokens in enumerate(continuations):
            extended = dict(item)
            extended["input_ids"] = torch.cat([item["input_ids"], torch.tensor([tokens])], dim=1)
            extended["attention_mask"] = torch.ones_like(extended["input_ids"])
            with torch.no_grad():
                logprobs = model(**extended).logits[0].log_softmax(-1)
            start = item["input_ids"].shape[1]
            expected = sum(logprobs[start - 1 + j, t].item() for j, t in enumerate(tokens))
            worst = max(worst, abs(scores[i, k].item() - expected))
    print(f"score_continuations vs full forward: max abs diff = {worst:.2e}")
    assert worst <= 1e-4
