"""Audio is decoded by its content, whatever its extension: MP4, M4A and ADTS AAC, WebM/Opus made with FFmpeg from the
same espeak-ng speech give what its WAV gives, in `predict`, `extract-features`, `acoustics`, the pipeline and
`prepare-data`."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from transformers import pipeline

from c2ser_hf.cli import main
from c2ser_hf.convert_emotion2vec import convert_emotion2vec
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.processing.audio_input import to_mono_16k

from audio_fixtures import speech
from corpus_trees import load, write_jsonl
from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf

TEXT = "The weather is lovely today, and I am very happy."
CODECS = {"mp4": ["-c:a", "aac", "-b:a", "160k"], "m4a": ["-c:a", "aac", "-b:a", "160k"],
          "aac": ["-c:a", "aac", "-b:a", "160k"], "webm": ["-c:a", "libopus", "-b:a", "128k"]}
# AAC and Opus are lossy: the waveform is not bit-exact, and raw ADTS AAC keeps the encoder's priming samples
# (1024 at 22.05 kHz: 743 at 16 kHz) that MP4's edit list removes.
MAX_LAG = 800


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("containers")
    wav = speech(root / "speech.wav", TEXT)
    # espeak's pauses are digital silence, which lossy codecs fill with faint noise that per-frame normalisation in
    # the encoders magnifies; a faint noise floor in the source keeps the comparison about the speech
    samples, rate = sf.read(wav)
    sf.write(wav, samples + np.random.default_rng(0).normal(0, 3e-3, samples.shape), rate, subtype="PCM_16")
    paths = {"wav": wav}
    for extension, codec in CODECS.items():
        paths[extension] = root / f"speech_{extension}.{extension}"  # distinct stems: one .npy each
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), *codec, str(paths[extension])], check=True)
    paths["m4a named .wav"] = shutil.copy(paths["m4a"], root / "m4a_inside.wav")
    paths["wav named .dat"] = shutil.copy(wav, root / "wav_inside.dat")
    return paths


def aligned_correlation(x: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Best normalised correlation of `x` delayed by 0..MAX_LAG samples against `reference`, and that delay."""
    n = min(len(x), len(reference)) - MAX_LAG
    a = reference[:n]
    scores = [(float(np.dot(a, x[lag:lag + n]) / np.sqrt(np.dot(a, a) * np.dot(x[lag:lag + n], x[lag:lag + n]))), lag)
              for lag in range(MAX_LAG)]
    return max(scores)


def test_every_container_decodes_to_the_same_speech(clips, tmp_path):
    reference = to_mono_16k(clips["wav"])
    other = to_mono_16k(speech(tmp_path / "other.wav", "I cannot believe you did that to me.", pitch=80))
    for name, path in clips.items():
        decoded = to_mono_16k(path)
        correlation, lag = aligned_correlation(decoded, reference)
        print(f"{name}: {len(decoded)} samples (wav {len(reference)}), correlation {correlation:.5f} at lag {lag}")
        assert abs(len(decoded) - len(reference)) < 0.1 * 16000 and correlation > 0.999
    assert aligned_correlation(other, reference)[0] < 0.5  # what different speech scores


def test_predict_scores_equal_the_wav_within_decoding_tolerance(clips, tmp_path, capsys):
    write_random_c2ser(tmp_path / "model", seed=2)
    capsys.readouterr()
    status = main(["predict", *map(str, clips.values()), "--model", str(tmp_path / "model"), "--scores", "--json",
                   "--greedy", "--max-new-tokens", "1"])
    assert status == 0
    results = {row["file"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    expected = results[str(clips["wav"])]["scores"]
    for name, path in clips.items():
        scores = results[str(path)]["scores"]
        diff = max(abs(scores[k] - expected[k]) for k in expected)
        with capsys.disabled():
            print(f"predict --scores, {name} vs wav: max abs diff {diff:.1e}")
        assert diff <= 1e-3


def test_extract_features_acoustics_and_the_pipeline_take_every_container(clips, tmp_path, capsys):
    conf = tiny_conf()
    save_fairseq(build_funasr_model(conf, seed=5), conf, tmp_path / "e2v.pt")
    convert_emotion2vec(tmp_path / "e2v.pt", tmp_path / "e2v")
    assert main(["extract-features", *map(str, clips.values()), "--model", str(tmp_path / "e2v"), "--level",
                 "utterance", "--out", str(tmp_path / "features")]) == 0
    expected = np.load(tmp_path / "features" / "speech.npy")
    for name, path in clips.items():
        features = np.load(tmp_path / "features" / f"{path.stem}.npy")
        distance = np.linalg.norm(features - expected) / np.linalg.norm(expected)
        with capsys.disabled():
            print(f"extract-features, {name}: utterance features {distance:.3f} from the wav's (relative L2)")
        if name != "aac":  # ADTS keeps the encoder delay: its frames fall 2.3 frame hops later
            assert distance <= 0.05

    capsys.readouterr()
    assert main(["acoustics", *map(str, clips.values()), "--text", TEXT, "--json"]) == 0
    measured = {row["file"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    wav = measured[str(clips["wav"])]
    for path in clips.values():
        row = measured[str(path)]
        assert abs(row["pitch_hz"] - wav["pitch_hz"]) <= 0.02 * wav["pitch_hz"]
        assert abs(row["loudness_lufs"] - wav["loudness_lufs"]) <= 0.5
        assert abs(row["speaking_rate"] - wav["speaking_rate"]) <= 0.05 * wav["speaking_rate"]

    write_random_c2ser(tmp_path / "model", seed=4)
    classifier = pipeline("speech-emotion-recognition", model=str(tmp_path / "model"))
    expected = {r["label"]: r["score"] for r in classifier(str(clips["wav"]))}
    for path in clips.values():
        scores = {r["label"]: r["score"] for r in classifier(str(path))}
        assert max(abs(scores[k] - expected[k]) for k in expected) <= 1e-3


def test_prepare_data_takes_every_container(clips, tmp_path):
    rows = [{"index": f"EN_B00000_S00000_W{number:06d}", "emotion": "happy", "wav": str(path), "text": TEXT}
            for number, path in enumerate(clips.values())]
    write_jsonl(tmp_path / "src" / "meta.jsonl", rows)
    report = prepare_data("emo-emilia", tmp_path / "src", tmp_path / "out")
    assert report.rows["all"]["test"] == len(clips) and not report.skipped
    durations = load(tmp_path / "out", "all", split="test")["duration"]
    assert max(durations) - min(durations) < 0.1
