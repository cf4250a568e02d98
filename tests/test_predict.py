"""`c2ser-hf predict` and `c2ser_hf.predict.predict`: per-input results and errors, long audio in windows."""

import json

import numpy as np
import pytest
from transformers import AutoModelForMultimodalLM, AutoProcessor

from c2ser_hf.predict import predict
from c2ser_hf.processing import EMOTIONS
from c2ser_hf.processing.audio_input import split_windows

from audio_fixtures import speech, tone
from cli_runner import run_cli


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "tiny-c2ser"
    assert run_cli("new", "--out", out, "--seed", "2").returncode == 0
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    (root / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 20)
    return {
        "speech": speech(root / "speech.wav", "Leave me alone, I said leave!"),
        "long": tone(root / "long_stereo44k.wav", seconds=40.0, rate=44100, channels=2),
        "missing": root / "missing.wav",
        "corrupt": root / "corrupt.wav",
    }


def test_split_windows_are_equal_and_cover_the_audio():
    assert split_windows(np.zeros(640000), 480000) == [(0, 320000), (320000, 640000)]
    assert split_windows(np.zeros(480000), 480000) == [(0, 480000)]
    bounds = split_windows(np.zeros(1000001), 480000)
    assert len(bounds) == 3 and bounds[0][0] == 0 and bounds[-1][1] == 1000001
    assert all(end - start <= 480000 for start, end in bounds)


def test_cli_predict_json_with_scores(folder, files):
    result = run_cli("predict", files["speech"], files["missing"], files["long"], files["corrupt"], "--model", folder,
                     "--scores", "--json", "--greedy", "--max-new-tokens", "4", "--batch-size", "2")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(files[k]) for k in ("speech", "missing", "long", "corrupt")]
    assert "does not exist" in lines[1]["error"] and "could not be decoded" in lines[3]["error"]
    for failed in ("missing", "corrupt"):
        assert f"failed: {files[failed]}" in result.stderr

    good, long = lines[0], lines[2]
    assert "segments" not in good and set(good["scores"]) == set(EMOTIONS)
    assert good["emotion"] == max(good["scores"], key=good["scores"].get)
    assert len(long["segments"]) == 2
    assert [(s["start"], s["end"]) for s in long["segments"]] == [(0.0, 20.0), (20.0, 40.0)]
    for emotion in EMOTIONS:
        mean = sum(s["scores"][emotion] for s in long["segments"]) / 2
        assert abs(long["scores"][emotion] - mean) < 1e-6
    assert abs(sum(long["scores"].values()) - 1) < 1e-5


def test_cli_rejects_a_mistyped_mode(folder, files):
    result = run_cli("predict", files["speech"], "--model", folder, "--mode", "implict", "--greedy")
    assert result.returncode == 2 and "implicit" in result.stderr


def test_library_predict_reports_bad_arrays_and_keeps_going(folder):
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForMultimodalLM.from_pretrained(folder).eval()
    rng = np.random.default_rng(0)
    clips = [rng.normal(0, 0.1, 16000).astype(np.float32), np.full(16000, np.nan, dtype=np.float32),
             np.zeros(0, dtype=np.float32), (rng.normal(0, 0.1, 24000) * 20000).astype(np.int16)]
    results = predict(model, processor, clips, mode="explicit", max_new_tokens=3, num_beams=1, do_sample=False)
    assert [r["file"] for r in results] == [f"audio[{i}]" for i in range(4)]
    assert "NaN/Inf" in results[1]["error"] and "empty" in results[2]["error"]
    assert "error" not in results[0] and "error" not in results[3] and "scores" not in results[0]

    # the batched, sorted path gives each clip what it gets alone
    alone = predict(model, processor, [clips[3]], mode="explicit", max_new_tokens=3, num_beams=1, do_sample=False)
    assert alone[0]["text"] == results[3]["text"]
    assert results[0]["emotion"] in (None, *EMOTIONS)
