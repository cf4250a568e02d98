"""The EmoBox-style probe on a prepared 2-fold corpus: an Emotion2Vec-S folder and a WavLM baseline in one run,
features cached once, both heads per fold, WA/UA/F1 equal to a hand computation, a resumed run redoing nothing."""

import json

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMModel

from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSModel
from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.probe import FeatureCache, FrameHead, PooledHead, frame_features, probe
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from audio_fixtures import tone
from corpus_trees import emobox

CLASSES = {"ANG": 180.0, "HAP": 260.0, "SAD": 120.0}


class HandMetric:
    """WA, UA (recall averaged over the reference classes) and macro-F1 (over reference and predicted classes)."""

    calls = 0

    def compute(self, predictions, references):
        HandMetric.calls += 1
        predictions, references = list(predictions), list(references)
        wa = sum(p == r for p, r in zip(predictions, references)) / len(references)
        recalls, f1s = [], []
        for label in sorted(set(references) | set(predictions)):
            tp = sum(p == r == label for p, r in zip(predictions, references))
            support, predicted = references.count(label), predictions.count(label)
            if support:
                recalls.append(tp / support)
            f1s.append(2 * tp / (support + predicted))
        return {"wa": wa, "ua": sum(recalls) / len(recalls), "macro_f1": sum(f1s) / len(f1s)}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    rows, folds = [], {}
    for session in (1, 2):
        for label in CLASSES:
            for n in range(4):
                rows.append((f"c-s{session}-{label}-{n}", f"s{session}/{label}_{n}.wav", label))
    for fold in (1, 2):
        test = [key for key, _, _ in rows if f"-s{fold}-" in key]
        folds[fold] = {"train": [key for key, _, _ in rows if key not in test], "test": test}
    source = emobox(root / "EmoBox", "corpus", rows, folds, {"ANG": "Angry", "HAP": "Happy", "SAD": "Sad"})
    for number, (_, relative, label) in enumerate(rows):  # the class is in the pitch
        tone(root / "EmoBox" / "downloads" / "corpus" / relative, seconds=0.5, freq=CLASSES[label] + 7 * (number % 4),
             seed=number)
    prepare_data("emobox", source, root / "corpus")

    torch.manual_seed(0)
    e2v = Emotion2VecSModel(Emotion2VecSConfig(
        hidden_size=32, num_hidden_layers=2, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
        conv_dim=(16,) * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
        num_extra_tokens=3))
    e2v.save_pretrained(root / "e2v")
    Emotion2VecSFeatureExtractor(do_normalize=True).save_pretrained(root / "e2v")
    wavlm = WavLMModel(WavLMConfig(
        hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48, conv_dim=(16,) * 7,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4, num_buckets=16, max_bucket_distance=32))
    wavlm.save_pretrained(root / "wavlm")
    Wav2Vec2FeatureExtractor(return_attention_mask=False, do_normalize=True).save_pretrained(root / "wavlm")
    return root


def test_probe_two_encoders_two_folds_two_heads(setup, tmp_path):
    root = setup
    models = [str(root / "e2v"), str(root / "wavlm")]
    report = probe(models, [str(root / "corpus")], tmp_path, epochs=4, batch_size=4, metric=HandMetric(),
                   progress=False)
    results = report["results"]
    assert len(results) == 2 * 2 * 2  # models x folds x heads
    metric = HandMetric()
    for entry in results.values():
        assert len(entry["ids"]) == 12 and all(f"-s{entry['fold'][-1]}-" in clip for clip in entry["ids"])
        expected = metric.compute(entry["predictions"], entry["references"])
        for name in ("wa", "ua", "macro_f1"):
            assert entry[name] == pytest.approx(expected[name], abs=1e-12)
    print(report["tables"])
    lines = report["tables"].splitlines()
    assert lines[0].endswith("(2 folds: fold_1, fold_2)") and len([line for line in lines if line.startswith(f"| {models[0]} |")]) == 2
    assert (tmp_path / "results.md").read_text() == report["tables"]

    # one cached feature file per clip and model; frames as the encoder gives them
    caches = sorted((tmp_path / "features").glob("*/*"))
    assert len(caches) == 2 and all(len(list(cache.glob("*.npy"))) == 24 for cache in caches)
    first = json.loads((tmp_path / "results.json").read_text())["results"]
    mtimes = {path: path.stat().st_mtime_ns for path in (tmp_path / "features").rglob("*.npy")}

    # a rerun redoes nothing: no feature is recomputed, no head retrained
    HandMetric.calls = 0
    again = probe(models, [str(root / "corpus")], tmp_path, epochs=4, batch_size=4, metric=HandMetric(),
                  progress=False)
    assert HandMetric.calls == 0 and again["results"] == first
    assert mtimes == {path: path.stat().st_mtime_ns for path in (tmp_path / "features").rglob("*.npy")}
    with pytest.raises(ValueError, match="other settings"):
        probe(models, [str(root / "corpus")], tmp_path, epochs=5, metric=HandMetric(), progress=False)


def test_cached_frames_equal_the_encoders_output(setup, tmp_path):
    from c2ser_hf.model_loading import load_audio_encoder

    for name in ("e2v", "wavlm"):
        model, extractor = load_audio_encoder(str(setup / name))
        rng = np.random.default_rng(1)
        waveforms = [rng.normal(0, 0.1, n).astype(np.float32) for n in (7000, 4000, 9100)]
        got = dict(frame_features(model, extractor, waveforms, max_batch_size=3))
        for index, waveform in enumerate(waveforms):
            inputs = extractor(waveform, sampling_rate=16000, return_tensors="pt")
            with torch.no_grad():
                alone = model(**inputs).last_hidden_state[0].numpy()
            assert got[index].shape == alone.shape and np.abs(got[index] - alone).max() <= 1e-5
        cache = FeatureCache(tmp_path / name)
        cache.save("clip/1", got[0])
        assert "clip/1" in cache and np.abs(cache.load("clip/1") - got[0]).max() <= 2e-3  # float16 storage


def test_heads_shapes_and_masking():
    frames = torch.randn(3, 5, 8)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3, [True] * 4 + [False]])
    for head in (PooledHead(8, 4), FrameHead(8, 4)):
        head.eval()
        logits = head(frames, mask)
        padded = frames.clone()
        padded[~mask] = 99.0  # padding never reaches the pooled vector
        assert logits.shape == (3, 4) and torch.allclose(head(padded, mask), logits)
    assert len(PooledHead(8, 4).classifier.dense) == 2  # three fully connected layers


def test_cli_scores_with_the_evaluation_metric_module(setup, tmp_path, capsys):
    from c2ser_hf.cli import main

    args = ["probe", "--model", str(setup / "e2v"), "--dataset", str(setup / "corpus"), "--out", str(tmp_path),
            "--epochs", "2", "--batch-size", "4", "--heads", "paper", "--folds", "fold_2"]
    assert main(args) == 0
    assert "| paper |" in capsys.readouterr().out
    (entry,) = json.loads((tmp_path / "results.json").read_text())["results"].values()
    expected = HandMetric().compute(entry["predictions"], entry["references"])
    assert all(entry[name] == pytest.approx(expected[name], abs=1e-12) for name in ("wa", "ua", "macro_f1"))
    assert main(["probe", "--model", str(tmp_path / "missing"), "--dataset", str(setup / "corpus"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err and not (tmp_path / "x").exists()
