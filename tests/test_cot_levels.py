"""Discretisation against corpus statistics (paper §III-C step 2): exact on a known array, inclusive bounds."""

import json

import numpy as np
import pytest

from c2ser_hf.cot import CorpusStats


def test_levels_exact_on_a_known_array_with_inclusive_bounds():
    # μ = 5, σ = 2 (population): Low < 3 ≤ Medium ≤ 7 < High
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    stats = CorpusStats.from_values({"pitch_hz": values, "loudness_lufs": values, "speaking_rate": values})
    pitch = stats.attributes["pitch_hz"]
    assert (pitch.mean, pitch.std, pitch.count) == (5.0, 2.0, 8)
    assert [pitch.level(v) for v in values] == ["Low", "Medium", "Medium", "Medium", "Medium", "Medium", "Medium", "High"]
    assert pitch.level(3.0) == "Medium" and pitch.level(7.0) == "Medium"
    assert pitch.level(np.nextafter(3.0, 0)) == "Low" and pitch.level(np.nextafter(7.0, 10)) == "High"
    assert pitch.level(None) is None and pitch.level(float("nan")) is None


def test_unmeasured_values_are_left_out_of_the_statistics():
    stats = CorpusStats.from_values({
        "pitch_hz": [100.0, None, 200.0], "loudness_lufs": [-20.0, -30.0, None], "speaking_rate": [None, 10.0, None],
    })
    assert stats.attributes["pitch_hz"].count == 2 and stats.attributes["pitch_hz"].mean == 150.0
    assert stats.attributes["speaking_rate"].std == 0.0
    assert stats.levels({"pitch_hz": 150.0, "loudness_lufs": None, "speaking_rate": 10.0}) == {
        "pitch_hz": "Medium", "loudness_lufs": None, "speaking_rate": "Medium"}
    with pytest.raises(ValueError, match="no utterance has a measured speaking_rate"):
        CorpusStats.from_values({"pitch_hz": [1.0], "loudness_lufs": [1.0], "speaking_rate": [None]})


def test_statistics_round_trip_and_reject_a_broken_file(tmp_path):
    rng = np.random.default_rng(0)
    stats = CorpusStats.from_values({n: list(rng.normal(size=50)) for n in ("pitch_hz", "loudness_lufs", "speaking_rate")})
    stats.save(tmp_path / "stats.json")
    again = CorpusStats.load(tmp_path / "stats.json")
    assert again.to_dict() == stats.to_dict()
    probe = {"pitch_hz": 0.3, "loudness_lufs": -2.0, "speaking_rate": 2.5}
    assert again.levels(probe) == stats.levels(probe)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"pitch_hz": {"mean": 1, "std": 1, "count": 1}}))
    with pytest.raises(ValueError, match="broken.json: corpus statistics lack loudness_lufs, speaking_rate"):
        CorpusStats.load(broken)
