"""Emotion2VecSForPreTraining: each loss against a hand computation, masking and padding, and every stage against
FunASR's emotion2vec modules (the data2vec 2.0 code) on a converted fairseq checkpoint with its decoder."""

import math

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForPreTraining

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.convert_emotion2vec import convert_emotion2vec
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForPreTraining
from c2ser_hf.modeling.modeling_emotion2vec_s_pretraining import (
    block_time_mask,
    category_contrastive_loss,
    chunk_means,
    masked_instance_norm,
)

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf
from test_helpers import pad, randomized, waves


def tiny_config(**overrides):
    values = dict(
        hidden_size=32, num_hidden_layers=3, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
        conv_dim=(16,) * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
        num_extra_tokens=3, decoder_dim=16, decoder_layers=2, decoder_groups=4, num_mask_copies=2,
        average_top_k_layers=2,
    )
    values.update(overrides)
    return Emotion2VecSConfig(**values)


# ---- the losses by hand ----


def hand_supcon(embeddings, labels, temperature):
    rows = [i for i, y in enumerate(labels) if y >= 0]
    z = {i: [v / math.sqrt(sum(c * c for c in embeddings[i])) for v in embeddings[i]] for i in rows}

    def similarity(a, b):
        return sum(x * y for x, y in zip(z[a], z[b])) / temperature

    losses = []
    for a in rows:
        positives = [p for p in rows if p != a and labels[p] == labels[a]]
        if not positives:
            continue
        denominator = sum(math.exp(similarity(a, k)) for k in rows if k != a)
        losses.append(-sum(math.log(math.exp(similarity(a, p)) / denominator) for p in positives) / len(positives))
    return sum(losses) / len(losses) if losses else 0.0


def test_category_loss_equals_hand_computation():
    embeddings = [[1.0, 0.2, -0.5], [0.9, 0.1, -0.3], [-0.2, 1.0, 0.4], [0.3, -0.8, 0.6],
                  [1.2, -0.1, -0.6], [0.5, 0.5, 0.5], [0.0, 0.3, 1.0]]
    # class 0 three times, class 1 twice, class 2 once (an anchor without a positive), one unlabelled clip
    labels = [0, 0, 1, 2, 0, 1, -100]
    for temperature in (0.07, 0.5):
        ours = category_contrastive_loss(torch.tensor(embeddings), torch.tensor(labels), temperature).item()
        expected = hand_supcon(embeddings, labels, temperature)
        print(f"L_cate (t={temperature}): ours {ours:.8f}, by hand {expected:.8f}")
        assert ours == pytest.approx(expected, rel=1e-5)


def test_category_loss_without_positive_pairs_is_zero_and_differentiable():
    embeddings = torch.randn(4, 3, requires_grad=True)
    for labels in ([-100, -100, -100, -100], [0, 1, 2, -100], [3, -100, -100, -100]):
        loss = category_contrastive_loss(embeddings, torch.tensor(labels), 0.07)
        assert loss.item() == 0.0
        loss.backward()
        assert embeddings.grad is not None and not embeddings.grad.any()


def test_instance_norm_and_chunk_means_by_hand():
    torch.manual_seed(0)
    hidden = torch.randn(2, 7, 5)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    normalized = masked_instance_norm(hidden, mask)
    reference = torch.nn.functional.instance_norm(hidden[:1].transpose(1, 2)).transpose(1, 2)
    assert torch.allclose(normalized[:1], reference, atol=1e-5)
    alone = torch.nn.functional.instance_norm(hidden[1:, :4].transpose(1, 2)).transpose(1, 2)
    assert torch.allclose(normalized[1:, :4], alone, atol=1e-5) and not normalized[1, 4:].any()

    means, present = chunk_means(hidden, mask, 3)
    # 7 frames in 3 chunks: [0, 2), [2, 4), [4, 7); 4 frames: [0, 1), [1, 2), [2, 4)
    for row, bounds in ((0, (0, 2, 4, 7)), (1, (0, 1, 2, 4))):
        for k in range(3):
            assert torch.allclose(means[row, k], hidden[row, bounds[k] : bounds[k + 1]].mean(0), atol=1e-6)
    assert present.all()
    _, present = chunk_means(hidden, torch.tensor([[True] * 2 + [False] * 5] * 2), 3)
    assert present.tolist() == [[False, True, True]] * 2  # 2 frames in 3 chunks: [0, 0) is empty


def test_block_masks_mask_real_frames_only_and_equally_per_row():
    lengths = [50, 37, 12, 50, 9]
    frame_mask = torch.arange(50)[None, :] < torch.tensor(lengths)[:, None]
    torch.manual_seed(0)
    fractions = []
    for _ in range(200):
        mask = block_time_mask(frame_mask, 0.5, 5)
        counts = mask.sum(-1)
        assert not (mask & ~frame_mask).any()
        assert (counts == counts[0]).all() and counts[0] >= 1
        fractions.append(mask[0].float().mean().item())
    full = frame_mask[[0, 3]]
    alone = [block_time_mask(full, 0.5, 5)[0].float().mean().item() for _ in range(200)]
    # data2vec's rule on full rows: int(0.5 * 50 / 5 + U) = 5 or 6 spans of 5 frames, overlapping: ~40 % masked
    print(f"masked fraction of a 50-frame row alone: {np.mean(alone):.3f}; beside a 9-frame row: {np.mean(fractions):.3f}")
    assert 0.33 < np.mean(alone) < 0.5


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = randomized(Emotion2VecSForPreTraining(tiny_config()))
    model.reset_teacher()
    return model


def test_padded_batch_equals_each_clip_alone(model, monkeypatch):
    monkeypatch.setattr(model.config, "mask_noise_std", 0.0)  # the decoder's stand-ins for masked frames are random
    clips = waves(9000, 6400, 12000, seed=1)
    batch, attention = pad(clips)
    copies = model.config.num_mask_copies
    with torch.no_grad():
        lengths = model.emotion2vec_s._get_feat_extract_output_lengths(torch.tensor([len(c) for c in clips]))
        frame_mask = (torch.arange(int(lengths.max()))[None, :] < lengths[:, None]).repeat_interleave(copies, 0)
        torch.manual_seed(3)
        mask = block_time_mask(frame_mask, 0.5, 3)
        together = model(batch, attention, labels=torch.tensor([0, 0, -100]), mask_time_indices=mask)
        alone = [
            model(clip[None], mask_time_indices=mask[i * copies : (i + 1) * copies, : int(lengths[i])])
            for i, clip in enumerate(clips)
        ]
    frame = np.mean([a.frame_loss.item() for a in alone])
    utterance = sum(a.utterance_loss.item() for a in alone)
    embeddings = torch.cat([a.embeddings for a in alone])
    print(f"padded batch vs alone: L_frm {together.frame_loss.item():.6f} / {frame:.6f}, "
          f"L_utt {together.utterance_loss.item():.6f} / {utterance:.6f}")
    assert together.frame_loss.item() == pytest.approx(frame, rel=1e-5)
    assert together.utterance_loss.item() == pytest.approx(utterance, rel=1e-5)
    assert torch.allclose(together.embeddings, embeddings, atol=1e-5)
    assert together.category_loss.item() > 0  # two labelled clips of one class, two copies each


def test_bad_masks_are_refused(model):
    clip = waves(8000)[0][None]
    frames = int(model.emotion2vec_s._get_feat_extract_output_lengths(torch.tensor(8000)))
    uneven = torch.zeros(2, frames, dtype=torch.bool)
    uneven[0, :3] = True
    with pytest.raises(ValueError, match="same number of frames"):
        model(clip, mask_time_indices=uneven)
    with pytest.raises(ValueError, match="shape"):
        model(clip, mask_time_indices=torch.zeros(2, frames + 1, dtype=torch.bool))


def test_teacher_update_and_save_round_trip(model, tmp_path):
    teacher = [p.clone() for p in model.teacher.parameters()]
    with torch.no_grad():
        for param in model.emotion2vec_s.encoder.parameters():
            param.add_(0.1)
    model.update_teacher(0.75)
    for before, after, student in zip(teacher, model.teacher.parameters(), model.emotion2vec_s.encoder.parameters()):
        assert torch.allclose(after, 0.75 * before + 0.25 * student)
    model.save_pretrained(tmp_path / "pretraining")
    reloaded = AutoModelForPreTraining.from_pretrained(tmp_path / "pretraining")
    assert type(reloaded) is Emotion2VecSForPreTraining
    for ours, theirs in zip(model.state_dict().values(), reloaded.state_dict().values()):
        assert torch.equal(ours, theirs)
    assert not any(p.requires_grad for p in reloaded.teacher.parameters())
    encoder = AutoModel.from_pretrained(tmp_path / "pretraining")
    assert type(encoder).__name__ == "Emotion2VecSModel"
    for name, value in encoder.state_dict().items():
        assert torch.equal(value, model.emotion2vec_s.state_dict()[name])
    with torch.no_grad():
        for param in model.emotion2vec_s.encoder.parameters():
            param.sub_(0.1)
    model.reset_teacher()


# ---- against FunASR's emotion2vec (data2vec 2.0 modules) ----


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A fairseq-layout checkpoint with its decoder, converted keeping the decoder; the FunASR model it came from."""
    root = tmp_path_factory.mktemp("pretraining")
    conf = tiny_conf()
    reference = build_funasr_model(conf, seed=11, decoder=True)
    with torch.no_grad():
        for param in reference.modality_encoders["AUDIO"].decoder.parameters():
            param.add_(0.05 * torch.randn(param.shape))
    save_fairseq(reference, conf, root / "checkpoint.pt")
    report = convert_emotion2vec(root / "checkpoint.pt", root / "out", keep_decoder=True)
    assert report.model_class == "Emotion2VecSForPreTraining" and not any("decoder" in k for k in report.dropped)
    audio = reference.modality_encoders["AUDIO"]
    # data2vec 2.0 masking settings FunASR's inference config leaves out
    for key, value in (("encoder_zero_mask", True), ("mask_channel_prob", 0.0), ("keep_masked_pct", 0.0)):
        audio.modality_cfg[key] = value
    return root / "out", reference


def funasr_blocks(reference, context):
    """Run FunASR's main blocks on a context-encoder output; (final x, per-block FFN outputs)."""
    x, ffn = context["x"], []
    for block in reference.blocks:
        x, ffn_output = block(x, padding_mask=context["padding_mask"], alibi_bias=context["alibi_bias"])
        ffn.append(ffn_output)
    return x, ffn


def test_converted_decoder_and_settings(converted):
    out, reference = converted
    model = Emotion2VecSForPreTraining.from_pretrained(out).eval()
    config = model.config
    assert (config.decoder_dim, config.decoder_layers, config.decoder_groups, config.decoder_kernel) == (48, 2, 4, 7)
    assert (config.mask_time_prob, config.mask_time_length, config.num_mask_copies) == (0.5, 5, 8)
    assert not (out / "model.safetensors").read_bytes().count(b"teacher.")
    x = torch.randn(2, 37, 64)
    with torch.no_grad():
        expected = reference.modality_encoders["AUDIO"].decoder(x, None)
        ours = model.decoder(x, torch.ones(2, 37, dtype=torch.bool))
    diff = (ours - expected).abs().max().item()
    print(f"decoder: max abs diff vs FunASR = {diff:.2e}")
    assert diff <= 1e-5


def test_masked_student_and_targets_match_funasr(converted):
    out, reference = converted
    model = Emotion2VecSForPreTraining.from_pretrained(out).eval()
    audio = reference.modality_encoders["AUDIO"]
    source = torch.from_numpy(np.random.default_rng(4).normal(0, 0.1, (2, 9600)).astype(np.float32))
    with torch.no_grad():
        features = audio.local_features(source)
        ours_features, frame_mask = model._local_features(source, None)
        assert torch.allclose(ours_features, features, atol=1e-5)
        torch.manual_seed(5)
        mask = block_time_mask(frame_mask, 0.5, 5)

        context = audio.contextualized_features(features, None, mask=True, remove_masked=True, precomputed_mask=mask)
        expected, _ = funasr_blocks(reference, context)
        frames, tokens, keep = model._encode_visible(ours_features, frame_mask, mask)
        # FunASR keeps the visible frames in its own (unsorted) order: compare position by position
        order = context["encoder_mask"].ids_keep[..., 0]
        rank = torch.argsort(torch.argsort(order, dim=1), dim=1)
        reordered = frames.gather(1, rank[..., None].expand(-1, -1, frames.shape[-1]))
        assert torch.equal(keep.sort(1).values, order.sort(1).values)
        student = max((reordered - expected[:, 10:]).abs().max().item(), (tokens - expected[:, :10]).abs().max().item())

        full = audio.contextualized_features(features, None, mask=False, remove_masked=False)
        _, ffn = funasr_blocks(reference, full)
        layers = [torch.nn.functional.instance_norm(f[:, 10:].transpose(1, 2)).transpose(1, 2) for f in ffn]
        targets = model._teacher_targets(ours_features, frame_mask)
    target = (targets - torch.stack(layers).mean(0)).abs().max().item()
    print(f"masked student: max abs diff vs FunASR = {student:.2e}; targets: {target:.2e}")
    assert student <= 1e-4 and target <= 1e-4


def test_first_step_losses_of_a_converted_checkpoint(converted):
    """Masking off, teacher = student: L_frm and L_utt are the formulas evaluated with FunASR's own modules."""
    out, reference = converted
    model = Emotion2VecSForPreTraining.from_pretrained(out, mask_time_prob=0.0, num_mask_copies=1).eval()
    audio = reference.modality_encoders["AUDIO"]
    clips = waves(11200, 8000, seed=6)
    batch, attention = pad(clips)
    with torch.no_grad():
        output = model(batch, attention, labels=torch.tensor([2, -100]))
        frame_errors, utterance_loss = [], 0.0
        for clip in clips:
            full = audio.contextualized_features(audio.local_features(clip[None]), None, mask=False,
                                                 remove_masked=False)
            x, ffn = funasr_blocks(reference, full)
            targets = torch.stack([
                torch.nn.functional.instance_norm(f[:, 10:].transpose(1, 2)).transpose(1, 2) for f in ffn
            ]).mean(0)[0]
            predicted = audio.decoder(x[:, 10:], None)[0]
            frame_errors += ((predicted - targets) ** 2).sum(-1).tolist()
            frames = len(targets)
            chunks = [targets[k * frames // 10 : (k + 1) * frames // 10].mean(0) for k in range(10)]
            utterance_loss += np.mean([((x[0, k] - chunks[k]) ** 2).sum().item() for k in range(10)])
    scale = 1 / math.sqrt(64)
    expected_frame, expected_utterance = np.mean(frame_errors) * scale, utterance_loss * scale
    print(f"first step: L_frm {output.frame_loss.item():.6f} (formula {expected_frame:.6f}), "
          f"L_utt {output.utterance_loss.item():.6f} (formula {expected_utterance:.6f})")
    assert output.frame_loss.item() == pytest.approx(expected_frame, rel=1e-4)
    assert output.utterance_loss.item() == pytest.approx(expected_utterance, rel=1e-4)
    assert output.category_loss.item() == 0.0  # one labelled clip: no positive pair
    assert output.loss.item() == pytest.approx(expected_frame + 0.1 * expected_utterance, rel=1e-4)


def test_a_trained_cnn_under_reentrant_checkpointing_gets_its_gradients():
    """Reentrant checkpointing of the student's CNN returns no graph unless its input needs grad: the student marks the
    waveform when its CNN trains (tests/test_modeling_emotion2vec_s.py checks the encoder-only model)."""
    torch.manual_seed(0)
    model = Emotion2VecSForPreTraining(tiny_config()).train()
    model.reset_teacher()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    for layer in model.emotion2vec_s.encoder.layers:  # the CNN's layers only
        layer.gradient_checkpointing = False
    model(waves(16000)[0][None]).loss.backward()
    conv = model.emotion2vec_s.feature_extractor.conv_layers[0].conv.weight
    assert conv.grad is not None and float(conv.grad.abs().max()) > 0
