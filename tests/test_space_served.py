"""The Space served as it is uploaded: staged by `push-space`'s own code, started with `python app.py` in its folder in
an environment holding only what its requirements.txt installs, a tiny random model, on loopback. Queried with
gradio_client and with a real headless Chromium."""

import re
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import speech, tone
from requirements_env import python_command, requirements_only_pythonpath
from loopback import free_port
from served_space import start_space

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPT = "I can't believe we won the game, this is wonderful!"
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update"]


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    from c2ser_hf.cot import CorpusStats
    from c2ser_hf.demo.space import stage_space
    from c2ser_hf.new_model import write_random_c2ser

    root = tmp_path_factory.mktemp("space")
    write_random_c2ser(root / "model", seed=3)
    # Statistics shipped with the model, chosen so that the espeak voice (~100 Hz) reads as High pitch.
    stats = CorpusStats.from_values({"pitch_hz": [60.0, 80.0], "loudness_lufs": [-30.0, -10.0],
                                     "speaking_rate": [5.0, 25.0]})
    stats.save(root / "model" / "acoustic_stats.json")
    folder = stage_space(ROOT / "spaces", root / "staged", repo_id="someone/c2ser-demo")
    pythonpath = requirements_only_pythonpath(folder / "requirements.txt", root / "site")
    port = free_port()
    python, env = python_command(pythonpath, C2SER_MODEL=str(root / "model"), GRADIO_SERVER_NAME="127.0.0.1",
                                 GRADIO_SERVER_PORT=str(port), OMP_NUM_THREADS="1")
    process, log = start_space([*python, "app.py"], folder, env)
    clips = root / "clips"
    clips.mkdir()
    yield {"url": f"http://127.0.0.1:{port}", "folder": folder, "clips": clips, "stats": stats,
           "pythonpath": pythonpath, "log": log}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(space):
    from gradio_client import Client

    return Client(space["url"], verbose=False)


@pytest.fixture(scope="module")
def spoken(space):
    return speech(space["clips"] / "spoken.wav", TRANSCRIPT)


def test_the_environment_holds_only_the_requirements(space):
    """The server below runs without the packages requirements.txt does not bring (dev and train extras)."""
    python, env = python_command(space["pythonpath"])
    for module in ("peft", "pytest", "datasets_scripts"):
        result = subprocess.run([*python, "-c", f"import {module}"], cwd=space["folder"], env=env, capture_output=True,
                                text=True)
        assert f"No module named '{module}'" in result.stderr, result.stderr[-2000:]


def test_client_round_trip_returns_label_probabilities_and_evidence(client, space, spoken):
    from gradio_client import handle_file

    from c2ser_hf.cot import AcousticMeter
    from c2ser_hf.processing import EMOTIONS
    from c2ser_hf.processing.audio_input import to_mono_16k

    result = client.predict(handle_file(str(spoken)), TRANSCRIPT, api_name="/analyze")
    assert list(result["scores"]) == list(EMOTIONS)
    assert abs(sum(result["scores"].values()) - 1) < 1e-5
    assert result["emotion"] == max(result["scores"], key=result["scores"].get)
    measured = AcousticMeter()([to_mono_16k(spoken)], [TRANSCRIPT])[0]
    for key in ("pitch_hz", "loudness_lufs", "speaking_rate"):
        assert result["evidence"][key] == pytest.approx(getattr(measured, key), abs=0.01), key
    assert result["levels"] == space["stats"].levels(result["evidence"])
    assert result["levels"]["pitch_hz"] == "High" and result["reasons"] == {} and "segments" not in result
    assert len(result["pitch_contour"]["times"]) == len(result["pitch_contour"]["hz"]) > 100
    print(f"round trip: {result['emotion']}, evidence {result['evidence']}, levels {result['levels']}")


def test_documented_client_snippet_runs(space, spoken, monkeypatch):
    from c2ser_hf.model_card import space_client_snippet

    snippet = space_client_snippet(space["url"]).replace('"speech.wav"', repr(str(spoken)))
    namespace = {}
    exec(compile(snippet, "space_client_snippet", "exec"), namespace)
    assert namespace["result"]["emotion"] in namespace["result"]["scores"]


def test_api_names_the_two_model_endpoints_only(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/analyze", "/explain"}


def test_long_audio_is_scored_per_window(client, space):
    from gradio_client import handle_file

    result = client.predict(handle_file(str(space["folder"] / "examples" / "story.wav")), "", api_name="/analyze")
    assert result["duration_s"] > 30 and len(result["segments"]) == 2
    assert result["segments"][0]["end"] == result["segments"][1]["start"]
    for segment in result["segments"]:
        assert abs(sum(segment["scores"].values()) - 1) < 1e-5
    assert result["evidence"]["speaking_rate"] is None and result["reasons"] == {"speaking_rate": "no transcript"}


def test_explain_returns_the_chain_of_thought(client, spoken):
    from gradio_client import handle_file

    answer = client.predict(handle_file(str(spoken)), api_name="/explain")
    assert isinstance(answer["text"], str) and answer["text"] and "emotion" in answer


def test_bad_files_get_one_line_each_and_do_not_spoil_a_batch(client, space, spoken):
    from gradio_client import handle_file

    clips = space["clips"]
    (clips / "notes.txt").write_text("this is not audio")
    (clips / "empty.wav").write_bytes(b"")
    tone(clips / "blip.wav", seconds=0.01)
    bad = {"notes.txt": "could not be decoded as audio", "empty.wav": "is an empty file",
           "blip.wav": "fewer than the minimum"}
    jobs = {name: client.submit(handle_file(str(clips / name)), "", api_name="/analyze") for name in bad}
    good = client.submit(handle_file(str(spoken)), "", api_name="/analyze")
    for name, expected in bad.items():
        error = jobs[name].result(timeout=60)["error"]
        assert error.startswith(name + ":") and expected in error and "\n" not in error, error
    assert abs(sum(good.result(timeout=60)["scores"].values()) - 1) < 1e-5


def test_50_concurrent_requests_all_answered_once(space):
    """Fifty requests at once, each with its own clip (a distinct length and pitch; three sampling rates, mono and
    stereo): every one gets exactly the answer for its clip. One client with a worker per request, so no request
    waits on the client side."""
    from gradio_client import Client, handle_file

    clips = {}
    for index in range(50):
        seconds, freq = 1.0 + 0.04 * index, 110.0 + 3 * index
        path = tone(space["clips"] / f"tone{index}.wav", seconds=seconds, freq=freq, seed=index,
                    rate=(16000, 22050, 44100)[index % 3], channels=1 + index % 2)
        clips[index] = (path, seconds, freq)

    client = Client(space["url"], verbose=False, max_workers=50)

    def ask(index):
        path, _, _ = clips[index]
        started = time.perf_counter()
        result = client.predict(handle_file(str(path)), "", api_name="/analyze")
        return index, result, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(ask, range(50), timeout=300))
    assert sorted(index for index, _, _ in answers) == list(range(50))
    for index, result, _ in answers:
        _, seconds, freq = clips[index]
        assert result["duration_s"] == pytest.approx(seconds, abs=0.01)
        assert result["evidence"]["pitch_hz"] == pytest.approx(freq, rel=0.02)
    latencies = sorted(latency for _, _, latency in answers)
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[18]
    print(f"50 concurrent requests: p50 {p50:.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s")


@pytest.fixture(scope="module")
def page(space):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(space["url"])
        yield page
        browser.close()


def _run_in_page(page, file, transcript=""):
    page.reload()  # an empty audio input again
    page.set_input_files("#audio input[type=file]", str(file))
    page.fill("#transcript textarea", transcript)
    page.click("#analyze")


def test_browser_upload_shows_label_evidence_and_explanation(page, client, space, spoken, tmp_path):
    from gradio_client import handle_file
    from PIL import Image

    from c2ser_hf.processing import EMOTIONS

    _run_in_page(page, spoken, TRANSCRIPT)
    page.wait_for_selector("#evidence table", timeout=60000)
    page.wait_for_selector("#waveform img, #waveform svg, #waveform canvas", timeout=60000)
    shown = page.inner_text("#emotion")
    expected = client.predict(handle_file(str(spoken)), TRANSCRIPT, api_name="/analyze")["emotion"]
    assert expected in shown and [e for e in EMOTIONS if re.search(rf"\b{e}\b", shown)] == [expected]
    evidence = page.inner_text("#evidence")
    assert "Hz" in evidence and "LUFS" in evidence and "phonemes/s" in evidence and "High" in evidence
    page.click("#explain")
    page.wait_for_function("document.querySelector('#explanation textarea').value.length > 0", timeout=60000)
    screenshot = tmp_path / "page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.std() > 10 and len(np.unique(pixels)) > 50, "the screenshot is blank"


def test_browser_non_audio_upload_shows_the_error(page, space):
    """A text file with an audio name reaches the server and gets its one-line reason in the page; one with a text
    name is refused by the page itself, which says so; pressing the button then asks for audio."""
    disguised = space["clips"] / "letter.wav"
    disguised.write_text("Dear reader, this is text.")
    _run_in_page(page, disguised)
    page.wait_for_function("document.querySelector('#status').innerText.includes('Cannot use this audio')",
                           timeout=60000)
    assert "letter.wav: could not be decoded as audio" in page.inner_text("#status")

    plain = space["clips"] / "letter.txt"
    plain.write_text("Dear reader, this is text.")
    _run_in_page(page, plain)
    page.get_by_text("Invalid file type: letter.txt").wait_for(timeout=10000)
    page.wait_for_function("document.querySelector('#status').innerText.includes('upload a file or record a clip')",
                           timeout=60000)
