"""Emotion2VecSModel / ForSequenceClassification on a tiny config: padding, outputs, saving, remote code."""

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForAudioClassification

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForSequenceClassification, Emotion2VecSModel
from c2ser_hf.modeling.modeling_emotion2vec_s import alibi_slopes
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from test_helpers import pad, randomized, run_without_package, waves


def tiny_config(**overrides):
    values = dict(
        hidden_size=32,
        num_hidden_layers=3,
        num_prenet_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        conv_pos_kernel_size=5,
        num_conv_pos_embeddings=2,
        num_conv_pos_embedding_groups=4,
        num_extra_tokens=3,
        num_labels=7,
        classifier_hidden_sizes=(24, 16),
    )
    values.update(overrides)
    return Emotion2VecSConfig(**values)



@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return randomized(Emotion2VecSModel(tiny_config()))


def test_slopes_for_twelve_heads_follow_fairseq():
    expected = [0.5**i for i in range(1, 9)] + [2**-0.5, 2**-1.5, 2**-2.5, 2**-3.5]
    assert np.allclose(alibi_slopes(12), expected)


def test_output_shapes(model):
    (x,) = waves(16000)
    out = model(x[None], output_hidden_states=True)
    frames = (16000 - 400) // 320 + 1
    assert out.last_hidden_state.shape == (1, frames, 32)
    assert out.utterance_features.shape == (1, 32)
    assert out.extra_tokens.shape == (1, 3, 32)
    assert len(out.hidden_states) == 4 and all(h.shape == (1, frames, 32) for h in out.hidden_states)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)


@pytest.mark.parametrize("one_by_one_on_cpu", [True, False])
@pytest.mark.parametrize("source", ["mean", "extra_tokens", "first_frames"])
def test_padded_batch_equals_one_by_one(model, source, one_by_one_on_cpu):
    """On a CPU padded batches run item by item; as one batch (the accelerators' path, forced here) the CNN runs on
    the items laid end to end, computing no padding."""
    items = waves(480, 16000 * 4, 5000, 16000 + 7, seed=1)
    batch, mask = pad(items)
    cnn_inputs = []
    hook = model.feature_extractor.register_forward_hook(lambda module, args, out: cnn_inputs.append(args[0].shape))
    model.cpu_items_one_by_one = one_by_one_on_cpu
    try:
        with torch.no_grad():
            if source == "first_frames":
                batch_out = model(batch[1:], mask[1:], utterance_source=source)
                items = items[1:]
            else:
                batch_out = model(batch, mask, utterance_source=source)
    finally:
        model.cpu_items_one_by_one = True
        hook.remove()
    if not one_by_one_on_cpu:
        (packed,) = cnn_inputs
        assert packed[0] == 1 and sum(map(len, items)) <= packed[1] < sum(map(len, items)) + 320 * len(items)
    worst = 0.0
    with torch.no_grad():
        for i, x in enumerate(items):
            alone = model(x[None], utterance_source=source)
            n = alone.last_hidden_state.shape[1]
            assert batch_out.frame_mask[i].sum() == n
            worst = max(
                worst,
                (batch_out.last_hidden_state[i, :n] - alone.last_hidden_state[0]).abs().max().item(),
                (batch_out.utterance_features[i] - alone.utterance_features[0]).abs().max().item(),
            )
    path = "item by item" if one_by_one_on_cpu else "one packed batch"
    print(f"utterance_source={source}, {path}: batched vs one-by-one max abs diff = {worst:.2e}")
    assert worst <= 1e-4


def test_utterance_sources(model):
    (x,) = waves(8000)
    with torch.no_grad():
        out = model(x[None], utterance_source="mean")
        first = model(x[None], utterance_source="first_frames").utterance_features
        tokens = model(x[None], utterance_source="extra_tokens").utterance_features
    assert torch.allclose(out.utterance_features, out.last_hidden_state.mean(1), atol=1e-6)
    assert torch.equal(first, out.last_hidden_state[:, :3])
    assert torch.equal(tokens, out.extra_tokens) and not torch.allclose(tokens, first)
    with pytest.raises(ValueError, match="utterance_source"):
        model(x[None], utterance_source="cls")


def test_first_frames_needs_enough_frames(model):
    (x,) = waves(400 + 320)  # two frames, three needed
    with pytest.raises(ValueError, match=r"item\(s\) \[0\] have \[2\]"):
        model(x[None], utterance_source="first_frames")


def test_too_short_input_is_named(model):
    batch, mask = pad(waves(1000, 399))
    with pytest.raises(ValueError, match=r"item\(s\) \[1\].*400"):
        model(batch, mask)


def test_eager_and_sdpa_agree():
    torch.manual_seed(1)
    eager = randomized(Emotion2VecSModel(tiny_config(_attn_implementation="eager")))
    sdpa = randomized(Emotion2VecSModel(tiny_config(_attn_implementation="sdpa")))
    sdpa.load_state_dict(eager.state_dict())
    batch, mask = pad(waves(7000, 3000))
    with torch.no_grad():
        diff = (eager(batch, mask).last_hidden_state - sdpa(batch, mask).last_hidden_state).abs().max().item()
    print(f"eager vs sdpa max abs diff = {diff:.2e}")
    assert diff <= 1e-5


def test_classification_head_is_three_layers_and_trains():
    torch.manual_seed(2)
    model = Emotion2VecSForSequenceClassification(tiny_config())
    layers = [m for m in model.classifier.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in layers] == [(32, 24), (24, 16), (16, 7)]
    batch, mask = pad(waves(6000, 9000))
    labels = torch.tensor([1, 5])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        out = model(batch, mask, labels=labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert out.logits.shape == (2, 7)
    assert losses[-1] < losses[0]


def test_save_and_load_round_trip(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is Emotion2VecSModel
    batch, mask = pad(waves(5000, 7000, seed=4))
    with torch.no_grad():
        assert torch.equal(model(batch, mask).last_hidden_state, loaded(batch, mask).last_hidden_state)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), Emotion2VecSConfig)


def test_auto_classes_for_a_classifier(tmp_path):
    model = randomized(Emotion2VecSForSequenceClassification(tiny_config()))
    model.save_pretrained(tmp_path)
    Emotion2VecSFeatureExtractor().save_pretrained(tmp_path)
    assert type(AutoModelForAudioClassification.from_pretrained(tmp_path)) is Emotion2VecSForSequenceClassification
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)) is Emotion2VecSFeatureExtractor
    auto_map = AutoConfig.from_pretrained(tmp_path).auto_map
    assert auto_map["AutoModel"] == "modeling_emotion2vec_s.Emotion2VecSModel"
    encoder = AutoModel.from_pretrained(tmp_path)
    assert type(encoder) is Emotion2VecSModel
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, model.emotion2vec_s.state_dict()[key]), key


REMOTE_SCRIPT = """
import numpy as np, torch
from transformers import AutoFeatureExtractor, AutoModel

folder = sys.argv[1]
model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
extractor = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)
wave = np.load(sys.argv[2])
inputs = extractor([wave, wave[:5000]], sampling_rate=16000, return_tensors="pt")
with torch.no_grad():
    out = model(**inputs)
np.save(sys.argv[3], out.last_hidden_state.numpy())
print(type(model).__module__)
"""


def test_loads_with_remote_code_where_the_package_is_absent(model, tmp_path):
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    Emotion2VecSFeatureExtractor().save_pretrained(folder)
    copied = sorted(p.name for p in folder.glob("*.py"))
    assert "modeling_emotion2vec_s.py" in copied and "configuration_emotion2vec_s.py" in copied
    wave = np.random.default_rng(5).normal(0, 0.1, 9000).astype(np.float32)
    np.save(tmp_path / "wave.npy", wave)
    result = run_without_package(REMOTE_SCRIPT, [folder, tmp_path / "wave.npy", tmp_path / "out.npy"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout
    remote = np.load(tmp_path / "out.npy")
    extractor = Emotion2VecSFeatureExtractor()
    inputs = extractor([wave, wave[:5000]], sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        local = model(**inputs).last_hidden_state.numpy()
    assert np.array_equal(remote, local)


@pytest.mark.parametrize("cnn_frozen", [False, True])
def test_training_with_gradient_checkpointing_gives_every_trained_parameter_a_gradient(cnn_frozen):
    """A frozen CNN (`freeze_feature_encoder`), or a frozen tower, adds no graph; the rest trains."""
    torch.manual_seed(0)
    model = Emotion2VecSModel(tiny_config(hidden_dropout=0.0)).train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cnn_frozen:
        model.freeze_feature_encoder()
    (x,) = waves(16000)
    model(x[None]).last_hidden_state.pow(2).mean().backward()
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert all(p.grad is not None for p in trained.values()), [n for n, p in trained.items() if p.grad is None]
    conv = model.feature_extractor.conv_layers[0].conv.weight
    assert (conv.grad is None) == cnn_frozen
    assert conv.grad is None or float(conv.grad.abs().max()) > 0
    assert float(model.encoder.layers[0].attention.q_proj.weight.grad.abs().max()) > 0

    model.requires_grad_(False)
    assert model(x[None]).last_hidden_state.requires_grad is False


def test_a_trained_cnn_under_reentrant_checkpointing_gets_its_gradients():
    """Reentrant checkpointing returns no graph when no input of a checkpointed block needs grad, so the tower marks the
    waveform as needing grad when its CNN trains (what transformers' Data2Vec feature encoder did on every call)."""
    torch.manual_seed(0)
    model = Emotion2VecSModel(tiny_config(hidden_dropout=0.0)).train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    for layer in model.encoder.layers:  # the CNN's layers only
        layer.gradient_checkpointing = False
    (x,) = waves(16000)
    model(x[None]).last_hidden_state.pow(2).mean().backward()
    conv = model.feature_extractor.conv_layers[0].conv.weight
    assert conv.grad is not None and float(conv.grad.abs().max()) > 0
