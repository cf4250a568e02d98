"""The training collator computes a batch's audio once and tokenises both targets over it: the batch it returns equals,
tensor for tensor, the one the processor gives per variant (the collator's previous path), for both processors."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from c2ser_hf.dataset_io import decode_audio
from c2ser_hf.processing import C2SERProcessor
from c2ser_hf.training.collator import AUDIO_KEYS, VARIANTS, CoTCollator

TEXT_KEYS = ("input_ids", "attention_mask", "labels")


def rows() -> list[dict]:
    """8 rows as a chain-of-thought dataset gives them: decoded arrays at 16 and 44.1 kHz, one stereo, one encoded
    WAV; clips of 0.3-9 s, English and Mandarin targets."""
    rng = np.random.default_rng(4)
    encoded = io.BytesIO()
    sf.write(encoded, rng.normal(0, 0.1, 30000).astype(np.float32), 16000, format="WAV", subtype="PCM_16")
    audio = [{"array": rng.normal(0, 0.1, n).astype(np.float32), "sampling_rate": 16000}
             for n in (144000, 5000, 40000, 97000, 61000)]
    audio += [{"array": rng.normal(0, 0.1, 88200).astype(np.float32), "sampling_rate": 44100},
              {"array": rng.normal(0, 0.1, (2, 30000)).astype(np.float32), "sampling_rate": 22050},
              {"bytes": encoded.getvalue(), "path": None}]
    explicit = ["The speaker spoke quickly, with a high-pitched tone: \"We won!\" Based on the speech features, the "
                "emotion was inferred to be happiness.", "说话者以缓慢的速度说道：“我不想再说了。”通过分析语音特征，推测情绪为悲伤。"]
    implicit = ["The emotion of this speech is happiness.", "这条语音的情感为悲伤"]
    return [{"id": f"r{i}", "audio": value, "explicit_target": explicit[i % 2], "implicit_target": implicit[i % 2]}
            for i, value in enumerate(audio)]


def previous_path(processor, batch_rows: list[dict]) -> dict:
    """The collator before the audio was shared: the processor once per variant, one set of audio features kept."""
    waveforms = [decode_audio(row["audio"], f"row {row['id']!r}") for row in batch_rows]
    batch = {}
    for variant in VARIANTS:
        inputs = processor(waveforms, mode=variant, targets=[row[f"{variant}_target"] for row in batch_rows],
                           sampling_rate=16000)
        batch.setdefault("audio", {key: inputs[key] for key in AUDIO_KEYS})
        batch[variant] = {key: inputs[key] for key in TEXT_KEYS}
    return {**batch.pop("audio"), **batch}


@pytest.mark.filterwarnings("ignore:row 'r6'")  # the stereo row's channels, averaged with a warning
@pytest.mark.parametrize("official", [False, True])
def test_the_batch_equals_the_per_variant_batch(tester, official):
    processor = C2SERProcessor(tokenizer=tester.processor.tokenizer, official_whisper_waveform=official)
    batch_rows = rows()
    batch, expected = CoTCollator(processor)(batch_rows), previous_path(processor, batch_rows)
    assert list(batch) == [*AUDIO_KEYS, *VARIANTS] == list(expected)
    pairs = [(key, batch[key], expected[key]) for key in AUDIO_KEYS]
    pairs += [(f"{variant}.{key}", batch[variant][key], expected[variant][key]) for variant in VARIANTS
              for key in TEXT_KEYS]
    for name, value, old in pairs:
        assert isinstance(value, torch.Tensor) and value.dtype == old.dtype and value.shape == old.shape, name
        assert torch.equal(value, old), name
    print(f"official_whisper_waveform={official}: {len(pairs)} tensors, every one equal to the per-variant path's")
    assert batch["input_features"].shape[0] == 8 and not torch.equal(batch["explicit"]["input_ids"][:, -5:],
                                                                      batch["implicit"]["input_ids"][:, -5:])


def test_a_clip_over_the_limit_is_named_by_its_row(tester):
    too_long = dict(rows()[0], id="long", audio={"array": np.zeros(16000 * 31, np.float32), "sampling_rate": 16000})
    with pytest.raises(ValueError, match=r"^row 'long': 31\.00 s is 3100 mel frames"):
        CoTCollator(tester.processor)([rows()[1], too_long])
