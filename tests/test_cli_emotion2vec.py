"""`c2ser-hf convert emotion2vec` and `c2ser-hf extract-features`, run as a user runs them."""


import numpy as np
import pytest
import torch

from c2ser_hf.batch_sizes import plan_batches
from c2ser_hf.modeling import Emotion2VecSModel
from c2ser_hf.processing import Emotion2VecSFeatureExtractor
from c2ser_hf.processing.audio_input import to_mono_16k

from audio_fixtures import speech, tone
from cli_runner import run_cli
from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    conf = tiny_conf()
    save_fairseq(build_funasr_model(conf, seed=11), conf, root / "checkpoint.pt")
    result = run_cli("convert", "emotion2vec", "--checkpoint", root / "checkpoint.pt", "--out", root / "model",
                     "--no-normalize-waveform")
    assert result.returncode == 0, result.stderr
    assert "Emotion2VecSModel" in result.stdout
    return root / "model"


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    good = [
        speech(root / "speech.wav"),
        tone(root / "stereo44k.wav", seconds=2.5, rate=44100, channels=2),
        tone(root / "short_int16.wav", seconds=0.3, subtype="PCM_16", seed=1),
        tone(root / "float.flac", seconds=1.2, rate=22050, subtype="PCM_24", seed=2),
    ]
    (root / "garbage.wav").write_bytes(b"RIFF this is not audio" * 10)
    return root, good, [root / "missing.wav", root / "garbage.wav"]


def test_convert_refuses_to_overwrite(converted):
    result = run_cli("convert", "emotion2vec", "--checkpoint", converted.parent / "checkpoint.pt", "--out", converted)
    assert result.returncode == 2 and "already exists" in result.stderr


def test_extract_frame_features_reports_bad_files_and_goes_on(converted, audio_files, tmp_path):
    root, good, bad = audio_files
    out = tmp_path / "frames"
    result = run_cli("extract-features", *good, *bad, "--model", converted, "--level", "frame", "--out", out,
                     "--batch-size", "3")
    assert result.returncode == 1
    for path in bad:
        assert f"failed: {path}" in result.stderr
    assert "does not exist" in result.stderr and "could not be decoded" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.npy" for p in good)

    model = Emotion2VecSModel.from_pretrained(converted).eval()
    extractor = Emotion2VecSFeatureExtractor.from_pretrained(converted)
    worst = 0.0
    for path in good:
        saved = np.load(out / f"{path.stem}.npy")
        with torch.no_grad():
            alone = model(**extractor(str(path), return_tensors="pt")).last_hidden_state[0].numpy()
        assert saved.shape == alone.shape == ((len(to_mono_16k(path)) - 400) // 320 + 1, 64)
        worst = max(worst, np.abs(saved - alone).max())
    print(f"extract-features (batched, sorted) vs one file alone: max abs diff = {worst:.2e}")
    assert worst <= 1e-4


@pytest.mark.parametrize("source,shape", [("mean", (64,)), ("first_frames", (10, 64)), ("extra_tokens", (10, 64))])
def test_extract_utterance_features(converted, audio_files, tmp_path, source, shape):
    root, good, _ = audio_files
    long_enough = [p for p in good if p.stem != "short_int16"] if source == "first_frames" else good
    result = run_cli("extract-features", *long_enough, "--model", converted, "--level", "utterance",
                     "--utterance-source", source, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    for path in long_enough:
        assert np.load(tmp_path / f"{path.stem}.npy").shape == shape


def test_plan_batches_bounds_padding():
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(100, 500, size=40)]
    batches = plan_batches(lengths, max_batch_size=8, max_padding=0.15)
    assert sorted(i for b in batches for i in b) == list(range(40))
    for batch in batches:
        computed = len(batch) * max(lengths[i] for i in batch)
        assert len(batch) <= 8 and 1 - sum(lengths[i] for i in batch) / computed <= 0.15
    assert len(batches) < 40
