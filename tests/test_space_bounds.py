"""The served Space bounds what one upload may cost before it takes the model slot: a header declaring 1 Hz or more
than two minutes, an upload over max_file_size and a transcript longer than the clip could hold are answered at once
with one line naming the upload's own file (never the server's upload folder), and a clip sent right behind them is
answered in its usual time. Served as the Space is uploaded (`push-space`'s staging, `python app.py`), with this
environment's packages (tests/test_space_served.py checks the requirements-only environment)."""

import re
import statistics
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import speech, tone
from loopback import free_port
from served_space import start_space

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPT = "The weather is lovely today."


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    import os

    from c2ser_hf.demo.space import stage_space
    from c2ser_hf.new_model import write_random_c2ser

    root = tmp_path_factory.mktemp("space")
    write_random_c2ser(root / "model", seed=3)
    folder = stage_space(ROOT / "spaces", root / "staged")
    port = free_port()
    env = {**os.environ, "C2SER_MODEL": str(root / "model"), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process, _ = start_space([sys.executable, "app.py"], folder, env)
    clips = root / "clips"
    clips.mkdir()
    yield {"url": f"http://127.0.0.1:{port}", "clips": clips}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(space):
    from gradio_client import Client

    return Client(space["url"], verbose=False)


@pytest.fixture(scope="module")
def spoken(space):
    return speech(space["clips"] / "spoken.wav", TRANSCRIPT)


def _timed(job) -> tuple[dict, float]:
    started = time.monotonic()
    result = job.result(timeout=120)
    return result, time.monotonic() - started


def _one_hertz(path: Path) -> Path:
    """6 KB declaring 1 Hz: 3,000 frames read as 50 minutes (it held the model slot for 93 s before)."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(1)
        handle.writeframes(np.zeros(3000, dtype=np.int16).tobytes())
    return path


def _one_line_naming(error: str, name: str) -> None:
    assert error.startswith(name + ":") and "\n" not in error, error
    # no part of the server's upload folder (/tmp/gradio/<64 hex digits>/name), whole or cut short
    assert "/" not in error and not re.search(r"[0-9a-f]{16}", error), error


def test_a_one_hertz_header_is_refused_at_once_and_the_clip_behind_it_waits_its_usual_time(client, space, spoken):
    from gradio_client import handle_file

    usual = []
    for _ in range(3):
        started = time.monotonic()
        client.predict(handle_file(str(spoken)), TRANSCRIPT, api_name="/analyze")
        usual.append(time.monotonic() - started)
    usual = statistics.median(usual)
    bad = _one_hertz(space["clips"] / "one-hertz.wav")
    started = time.monotonic()
    refused = client.submit(handle_file(str(bad)), "", api_name="/analyze")
    behind = client.submit(handle_file(str(spoken)), TRANSCRIPT, api_name="/analyze")
    error = refused.result(timeout=120)["error"]
    refused_after = time.monotonic() - started
    answer = behind.result(timeout=120)
    behind_after = time.monotonic() - started
    print(f"usual {usual:.2f} s; 1 Hz header answered in {refused_after:.2f} s, the clip behind it in "
          f"{behind_after:.2f} s")
    _one_line_naming(error, "one-hertz.wav")
    assert "declares a sample rate of 1 Hz" in error
    assert refused_after < 2.0
    assert abs(sum(answer["scores"].values()) - 1) < 1e-5
    assert abs(behind_after - usual) <= 1.0


def test_a_clip_over_two_minutes_is_refused_from_its_header(client, space):
    from gradio_client import handle_file

    long = tone(space["clips"] / "long.wav", seconds=121.0, rate=8000)
    started = time.monotonic()
    error = client.predict(handle_file(str(long)), "", api_name="/analyze")["error"]
    print(f"121 s clip refused in {time.monotonic() - started:.2f} s: {error}")
    _one_line_naming(error, "long.wav")
    assert "lasts 121.0 s, over the limit of 120 s" in error


def test_an_upload_over_max_file_size_is_refused(client, space):
    from gradio_client import handle_file

    big = space["clips"] / "big.wav"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size"):
        client.predict(handle_file(str(big)), "", api_name="/analyze")


def test_a_transcript_longer_than_the_clip_holds_is_refused(client, space, spoken):
    """A 200 KB transcript gave a speaking rate of 49,601 phonemes/s; a paragraph for a two-second clip is refused
    too; the clip's own transcript still gives a speaking rate."""
    from gradio_client import handle_file

    started = time.monotonic()
    error = client.predict(handle_file(str(spoken)), "word " * 40_000, api_name="/analyze")["error"]
    print(f"200 KB transcript refused in {time.monotonic() - started:.2f} s: {error}")
    _one_line_naming(error, "spoken.wav")
    assert "the transcript has 200,000 characters, over the limit of 3,600" in error
    error = client.predict(handle_file(str(spoken)), TRANSCRIPT * 10, api_name="/analyze")["error"]
    _one_line_naming(error, "spoken.wav")
    assert "more than" in error and "s of speech holds" in error
    answer = client.predict(handle_file(str(spoken)), TRANSCRIPT, api_name="/analyze")
    assert 5 < answer["evidence"]["speaking_rate"] < 30


def test_errors_name_the_upload_never_the_server_folder(client, space):
    """A long file name made the decoder's detail, cut at 160 characters, end inside the server's upload path
    (/tmp/gradio/<hash>/recording-from-the-interview-of-monday-morning...)."""
    from gradio_client import handle_file

    name = "recording-from-the-interview-of-monday-morning-in-the-studio.wav"
    broken = space["clips"] / name
    broken.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    for api_name in ("/analyze", "/explain"):
        args = (handle_file(str(broken)), "") if api_name == "/analyze" else (handle_file(str(broken)),)
        error = client.predict(*args, api_name=api_name)["error"]
        print(f"{api_name}: {error}")
        _one_line_naming(error, name)
        assert "could not be decoded as audio" in error


def test_generation_stops_at_the_time_limit(tmp_path, monkeypatch):
    """Each batch's generation ends after MAX_GENERATION_SECONDS (transformers' max_time), however long the answer
    would be: at a limit of 0 s the chain of thought stops after its first token."""
    from c2ser_hf.demo import Analyzer, analysis
    from c2ser_hf.new_model import build_random_c2ser

    analyzer = Analyzer(*build_random_c2ser(seed=5))
    clip = str(speech(tmp_path / "clip.wav", TRANSCRIPT))
    analyzer.model.generation_config.update(max_new_tokens=24, min_new_tokens=24, num_beams=1, decoding="greedy")
    full = analyzer.processor.tokenizer(analyzer.explain([clip])[0]["text"])["input_ids"]
    monkeypatch.setattr(analysis, "MAX_GENERATION_SECONDS", 0.0)
    cut = analyzer.processor.tokenizer(analyzer.explain([clip])[0]["text"])["input_ids"]
    print(f"tokens: {len(full)} without a time limit, {len(cut)} at 0 s")
    assert len(cut) < len(full) and len(cut) <= 2
