"""The demo's parts in process: level statistics, per-clip errors, the page's pictures, the Space's metadata."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from audio_fixtures import speech, tone

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analyzer():
    from c2ser_hf.demo import Analyzer
    from c2ser_hf.new_model import build_random_c2ser

    return Analyzer(*build_random_c2ser(seed=5))


def _is_drawn(figure) -> bool:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    from PIL import Image

    pixels = np.asarray(Image.open(buffer).convert("L"), dtype=float)
    return pixels.std() > 10 and len(np.unique(pixels)) > 20


def test_level_statistics_come_from_the_model_else_reference_values(tmp_path):
    from c2ser_hf.cot import CorpusStats
    from c2ser_hf.demo import REFERENCE_STATS, STATS_FILE, load_stats

    shipped = CorpusStats.from_values({"pitch_hz": [100.0, 300.0], "loudness_lufs": [-30.0, -20.0],
                                       "speaking_rate": [8.0, 16.0]})
    (tmp_path / "model").mkdir()
    shipped.save(tmp_path / "model" / STATS_FILE)
    stats, source = load_stats(str(tmp_path / "model"))
    assert stats.to_dict() == shipped.to_dict() and source.endswith(STATS_FILE)
    (tmp_path / "bare").mkdir()
    stats, source = load_stats(str(tmp_path / "bare"))
    assert stats is REFERENCE_STATS and source.startswith("reference values")
    assert stats.levels({"pitch_hz": 101.0, "loudness_lufs": -24.0, "speaking_rate": 16.0}) == {
        "pitch_hz": "Low", "loudness_lufs": "Medium", "speaking_rate": "High"}
    explicit = tmp_path / "other.json"
    REFERENCE_STATS.save(explicit)
    assert load_stats(str(tmp_path / "model"), explicit)[0].to_dict() == REFERENCE_STATS.to_dict()
    explicit.write_text("{not json")
    with pytest.raises(ValueError, match="other.json"):
        load_stats(str(tmp_path / "model"), explicit)


def test_each_unusable_clip_gets_its_reason_and_the_others_an_answer(analyzer, tmp_path):
    good = speech(tmp_path / "good.wav", "The weather is lovely today.")
    (tmp_path / "broken.mp3").write_bytes(b"ID3 not really an mp3")
    results = analyzer.analyze([None, str(good), str(tmp_path / "broken.mp3"), str(tmp_path / "gone.wav")],
                               ["", "The weather is lovely today.", "", ""])
    assert results[0] == {"error": "no audio: upload a file or record a clip first"}
    assert abs(sum(results[1]["scores"].values()) - 1) < 1e-5 and results[1]["evidence"]["speaking_rate"] > 0
    assert results[2]["error"].startswith("broken.mp3: could not be decoded as audio")
    assert results[3]["error"] == "gone.wav: file does not exist"
    explained = analyzer.explain([str(tmp_path / "broken.mp3"), str(good)])
    assert "error" in explained[0] and isinstance(explained[1]["text"], str)


def test_page_draws_waveform_pitch_bars_and_timeline(analyzer, tmp_path):
    from c2ser_hf.demo.figures import timeline_figure
    from c2ser_hf.demo.page import render
    from c2ser_hf.processing import EMOTIONS

    short = str(speech(tmp_path / "short.wav", "Nothing feels the same anymore.", pitch=30))
    long = str(tone(tmp_path / "long.wav", seconds=31.0, freq=180.0))
    short_result, long_result = analyzer.analyze([short, long])
    status, label, bars, evidence, waveform, timeline = render(short_result, short)
    assert re.fullmatch(r"\d+\.\d s of audio, scored in 1 window\.", status)
    assert list(label) == [short_result["emotion"]] and list(bars["emotion"]) == list(EMOTIONS)
    assert bars["probability"].sum() == pytest.approx(1, abs=1e-5)
    assert "| pitch |" in evidence and "no transcript" in evidence and timeline.visible is False
    pitch_line = waveform.axes[1].lines[0]
    assert np.nanmean(pitch_line.get_ydata()) == pytest.approx(short_result["evidence"]["pitch_hz"], rel=0.1)
    assert _is_drawn(waveform)

    status, *_, timeline = render(long_result, long)
    assert "2 windows" in status and timeline.visible is True and timeline.value is not None
    assert _is_drawn(timeline_figure(long_result["segments"]))
    error = render({"error": "x.wav: is empty (0 samples)"}, None)
    assert error[0] == "**Cannot use this audio.** x.wav: is empty (0 samples)" and error[1] is None


def test_space_readme_header_matches_the_pins_and_documents_the_client():
    from c2ser_hf.demo.space import SPACE_PLACEHOLDER
    from c2ser_hf.model_card import space_client_snippet

    readme = (ROOT / "spaces" / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(readme.split("---\n")[1])
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    assert header["sdk"] == "gradio" and header["sdk_version"] == pins["gradio"]
    assert (ROOT / "spaces" / header["app_file"]).is_file() and header["license"] and header["models"]
    assert space_client_snippet(SPACE_PLACEHOLDER) in readme
    assert space_client_snippet(SPACE_PLACEHOLDER) in (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^\./c2ser-hf\[demo\]$", (ROOT / "spaces" / "requirements.txt").read_text(), flags=re.M)
