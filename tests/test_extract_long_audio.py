"""`extract-features` on long audio: windows whose cores are stitched (memory linear in the length), and an input the
model cannot encode reported by name while the others are written."""

import numpy as np
import pytest
import soundfile as sf
import torch

from c2ser_hf.cli import main
from c2ser_hf.convert_emotion2vec import convert_emotion2vec
from c2ser_hf.extract_features import encode, window_bounds
from c2ser_hf.modeling import Emotion2VecSModel
from c2ser_hf.processing import Emotion2VecSFeatureExtractor

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf


def gliding_tone(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    wave = 0.3 * np.sin(2 * np.pi * (150 + 50 * np.sin(t)) * t) * (1 + np.sin(3 * t))
    return (wave + 0.05 * rng.normal(size=t.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny converted Emotion2Vec-S models: with the 10 extra tokens, and without them."""
    root = tmp_path_factory.mktemp("long")
    for name, extra in (("extra", 10), ("plain", 0)):
        conf = tiny_conf(extra=extra)
        save_fairseq(build_funasr_model(conf, seed=11), conf, root / f"{name}.pt")
        convert_emotion2vec(root / f"{name}.pt", root / name)
    return root


def test_window_bounds_tile_the_input_with_context():
    for total in (1501, 3000, 30010):
        bounds = window_bounds(total, window=1500, context=250)
        assert [b[1] for b in bounds] == [0] + [b[2] for b in bounds[:-1]] and bounds[-1][2] == total
        for first, start, stop, last in bounds:
            assert last - first <= 1500 and first == max(0, start - 250) and last == min(total, stop + 250)
        cores = [stop - start for _, start, stop, _ in bounds]
        assert max(cores) - min(cores) <= 1


def test_stitched_frames_equal_the_whole_input_where_attention_is_local(models):
    """Without extra tokens (which see every frame) and with ALiBi steep enough that attention fades within the
    context, windowed frames must equal whole-input frames: a frame misplaced by one would differ by O(1)."""
    model = Emotion2VecSModel.from_pretrained(models / "plain").eval()
    extractor = Emotion2VecSFeatureExtractor.from_pretrained(models / "plain")
    model.encoder.alibi_scale.data.fill_(30.0)
    wave = gliding_tone(12.0)
    with torch.no_grad():
        whole = model(**extractor(wave, return_tensors="pt")).last_hidden_state[0]
        (_, frames, _), = encode(model, extractor, [wave], window_seconds=4.0, context_seconds=1.5)
        (_, edges, _), = encode(model, extractor, [wave], window_seconds=4.0, context_seconds=0.0)
    diff, no_context = (frames - whole).abs().max().item(), (edges - whole).abs().max().item()
    print(f"12 s in 4 s windows, 1.5 s context: max abs diff vs whole input {diff:.2e} (no context: {no_context:.2e})")
    assert frames.shape == whole.shape == (599, 64)
    assert diff <= 1e-4 < no_context


def test_long_and_short_clips_in_one_call(models, tmp_path, capsys):
    """A 3-minute clip (in 30 s windows; `bench/bench_long_audio.py` measures 1 to 10 minutes at the released size)
    and two short clips; the 0.1 s one has too few frames for first_frames utterance features and is reported while
    the others are written."""
    paths = {name: tmp_path / f"{name}.wav" for name in ("long", "short", "tenth")}
    for (name, path), seconds in zip(paths.items(), (180.0, 2.0, 0.1)):
        sf.write(path, gliding_tone(seconds), 16000, subtype="PCM_16")
    out = tmp_path / "out"
    status = main(["extract-features", *map(str, paths.values()), "--model", str(models / "extra"), "--level",
                   "utterance", "--utterance-source", "first_frames", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 1
    assert f"failed: {paths['tenth']}: could not be encoded (ValueError: utterance_source='first_frames' needs at " \
           "least 10 frames" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["long.npy", "short.npy"]
    assert np.load(out / "long.npy").shape == (10, 64)

    status = main(["extract-features", str(paths["long"]), "--model", str(models / "extra"), "--out",
                   str(tmp_path / "frames")])
    assert status == 0
    assert np.load(tmp_path / "frames" / "long.npy").shape == ((180 * 16000 - 400) // 320 + 1, 64)
