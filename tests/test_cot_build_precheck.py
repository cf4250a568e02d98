"""build-cot learns before measuring any clip that it cannot finish: no transcript and no --stats is one line naming
the option, and no work folder is left behind."""

import datasets
import numpy as np
import pytest

from c2ser_hf.cot.build import BuildError, build_cot


def test_no_transcripts_and_no_stats_is_refused_before_measuring(tmp_path):
    rows = {"audio": [{"array": np.zeros(16000, dtype=np.float32), "sampling_rate": 16000}] * 3,
            "text": ["", None, "  "], "emotion": ["happy", "sad", "neutral"]}
    data = datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio())
    with pytest.raises(BuildError, match=r"no row has a transcript .* \(--stats FILE"):
        build_cot(data, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
