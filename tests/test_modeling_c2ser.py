"""C2SER on the tiny configuration: connector numerics against the released formulas (docs/fidelity.md), generation,
saving and loading; inputs come from the processor."""

import json
import math

import pytest
import torch
from torch.nn import functional as F
from transformers import AutoModel, AutoModelForMultimodalLM

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.modeling import C2SERForConditionalGeneration, C2SERModel

from test_helpers import run_without_package


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=0)


def greedy(model, inputs, **kwargs):
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False, repetition_penalty=1.0, **kwargs)
    return out[:, inputs["input_ids"].shape[1]:]


def test_downsampler_matches_the_released_formula(model):
    """docs/fidelity.md#downsampler: three causal k3 convs (strides 1, 2, 2), each after a 2-frame left zero pad, GELU
    after each."""
    downsampler = model.model.downsampler
    x = torch.randn(2, 205, 64)
    convs = [m for m in downsampler.conv if isinstance(m, torch.nn.Conv1d)]
    reference = x.transpose(1, 2)
    for conv, stride in zip(convs, (1, 2, 2)):
        reference = F.gelu(F.conv1d(F.pad(reference, (2, 0)), conv.weight, conv.bias, stride=stride))
    with torch.no_grad():
        ours = downsampler(x)
    diff = (ours - reference.transpose(1, 2)).abs().max().item()
    print(f"downsampler vs the released formula: max abs diff = {diff:.2e}")
    assert ours.shape == (2, 52, 64) and diff <= 1e-6
    assert downsampler.output_lengths(torch.tensor([205, 1500, 1])).tolist() == [52, 375, 1]


def test_link_matches_the_released_formula(model):
    """docs/fidelity.md#link: LN(Linear(x))·√d + interleaved sinusoids, pre-LN blocks (ReLU FFN, all biases), final
    LN."""
    link = model.model.link
    dim, heads = 64, model.config.link_config.num_attention_heads
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
    print(f"link vs the released formula: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_speech_block_layout_and_lengths(tester, model):
    """docs/fidelity.md#sequence-layout: [BOS] acoustic×10 whisper×T_ds [EOS], projected; 12 + T_ds rows per item,
    as many as the processor writes placeholders."""
    inputs = tester.inputs([65621, 16000])
    assert tester.processor.speech_lengths([410, 3000, 1139]) == [64, 387, 155]
    with torch.no_grad():
        rows, lengths = model.model.get_speech_embeddings(
            inputs["input_features"], inputs["feature_attention_mask"], inputs["input_values"], inputs["input_values_mask"]
        )
    placeholders = (inputs["input_ids"] == model.config.speech_token_id).sum(-1)
    assert lengths.tolist() == [64, 12 + 13] == placeholders.tolist()
    assert rows.shape == (89, 64)
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
    print(f"speech block vs the hand-assembled released path: max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_batched_greedy_equals_one_by_one(tester, model):
    samples = [48000, 9000, 30000]
    batched = greedy(model, tester.inputs(samples, seed=1))
    for i, alone in enumerate(tester.one_by_one(samples, seed=1)):
        alone = greedy(model, alone)
        assert batched[i, : alone.shape[1]].tolist() == alone[0].tolist(), f"item {i}"


def test_generation_with_cache_equals_without(tester, model):
    inputs = tester.inputs([20000, 12000], seed=2)
    assert greedy(model, inputs).tolist() == greedy(model, inputs, use_cache=False).tolist()


def test_placeholder_count_mismatch_is_an_error(tester, model):
    inputs = tester.inputs([16000])
    inputs["input_ids"] = inputs["input_ids"][:, 1:]
    inputs["attention_mask"] = inputs["attention_mask"][:, 1:]
    inputs["input_ids"][0, -1] = 9  # one placeholder fewer
    with pytest.raises(ValueError, match=r"placeholder count per item \[24\] does not match .* \[25\]"):
        model(**inputs)


def test_labels_give_a_loss_that_training_lowers(tester):
    torch.manual_seed(3)
    trainee = C2SERForConditionalGeneration(tester.config).train()
    targets = ["The emotion of this speech is anger.", "这条语音的情感为高兴"]
    inputs = tester.inputs([16000, 8000], targets=targets)
    optimizer = torch.optim.AdamW(trainee.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        loss = trainee(**inputs).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert trainee.model.audio_tower.conv1.weight.grad is not None


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved") / "model"
    model.save_pretrained(folder)
    return folder


def test_save_load_and_generation_config(tester, model, saved):
    loaded = AutoModelForMultimodalLM.from_pretrained(saved).eval()
    assert type(loaded) is C2SERForConditionalGeneration
    inputs = tester.inputs([20000, 7000], seed=4)
    assert greedy(loaded, inputs).tolist() == greedy(model, inputs).tolist()
    generation = loaded.generation_config
    assert (generation.num_beams, generation.repetition_penalty, generation.max_new_tokens) == (4, 1.05, 400)
    assert generation.eos_token_id == tester.processor.eos_token_id
    assert type(AutoModel.from_pretrained(saved)) is C2SERModel


# The connector's fields as config.json held them before `link_config` (flat on C2SERConfig, other names)
OLD_LINK_FIELDS = {
    "hidden_size": "link_hidden_size",
    "num_hidden_layers": "link_layers",
    "num_attention_heads": "link_attention_heads",
    "intermediate_size": "link_ffn_dim",
    "hidden_act": "link_activation",
    "dropout": "link_dropout",
    "max_position_embeddings": "link_max_positions",
}


def test_a_folder_saved_with_the_flat_link_fields_still_loads(tester, model, saved, tmp_path):
    """Folders written before `link_config` existed: their config.json holds the seven `link_*` fields."""
    config = json.loads((saved / "config.json").read_text())
    link = config.pop("link_config")
    config.update({old: link[new] for new, old in OLD_LINK_FIELDS.items()})
    old = tmp_path / "old"
    old.mkdir()
    for path in saved.iterdir():
        (old / path.name).write_bytes(path.read_bytes())
    (old / "config.json").write_text(json.dumps(config))

    loaded = AutoModelForMultimodalLM.from_pretrained(old).eval()
    for field in OLD_LINK_FIELDS:
        assert getattr(loaded.config.link_config, field) == getattr(model.config.link_config, field), field
    inputs = tester.inputs([12000], seed=7)
    with torch.no_grad():
        assert torch.equal(loaded(**inputs).logits, model(**inputs).logits)
    with pytest.raises(ValueError, match="link_config only"):
        type(model.config)(link_config={"hidden_size": 64}, link_layers=2)


def test_encoders_stay_fp32_under_a_bf16_language_model(tester, saved):
    loaded = C2SERForConditionalGeneration.from_pretrained(saved, dtype=torch.bfloat16).eval()
    assert loaded.model.language_model.embed_tokens.weight.dtype == torch.bfloat16
    for name in ("audio_tower", "acoustic_tower", "downsampler", "link", "projector", "speech_boundary"):
        assert all(p.dtype == torch.float32 for p in getattr(loaded.model, name).parameters()), name
    assert greedy(loaded, tester.inputs([16000])).shape == (1, 8)


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


def test_loads_with_remote_code_where_the_package_is_absent(tester, model, saved, tmp_path):
    copied = {p.name for p in saved.glob("*.py")}
    assert {"modeling_c2ser.py", "modeling_c2ser_whisper.py", "modeling_emotion2vec_s.py", "speech_lengths.py",
            "continuation_scoring.py", "light_checkpoint.py"} <= copied
    inputs = dict(tester.inputs([20000, 9000], seed=5))
    torch.save(inputs, tmp_path / "inputs.pt")
    result = run_without_package(REMOTE_SCRIPT, [saved, tmp_path / "inputs.pt", tmp_path / "out.pt"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout
    remote = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        local = model.generate(**inputs, max_new_tokens=8, num_beams=1, do_sample=False, repetition_penalty=1.0)
    assert torch.equal(remote, local)


def test_scored_continuations_equal_full_forward_likelihoods(tester, model):
    samples, eos = [30000, 9000], tester.processor.eos_token_id
    inputs = tester.inputs(samples, seed=6)
    # shared leading runs (nested, and one continuation that is exactly a shared run) and separate ones
    continuations = [[10, 11, 12, eos], [10, 11, 13, eos], [10, 11], [10, 14, eos], [20, eos],
                     [30, 31, 32, 33, 34, eos], [40], [41, 42]]
    scores = model.score_continuations(continuations, chunk_size=2, **inputs)
    assert scores.shape == (2, 8)
    worst = 0.0
    for i, item in enumerate(tester.one_by_one(samples, seed=6)):
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
