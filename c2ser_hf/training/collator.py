"""Rows of a chain-of-thought dataset (the output of `build-cot`) → C2SER training batches, explicit AND implicit.

Which of the two a batch trains on is decided per optimizer step by the trainer (see `schedule.py`): a collator runs
in dataloader workers, ahead of the step, and cannot know it. So every batch carries the audio inputs once and the
text inputs of both targets; `select_variant` keeps one.
"""

from ..processing.audio_input import to_mono_16k

AUDIO_KEYS = ("input_features", "feature_attention_mask", "input_values", "input_values_mask")
VARIANTS = ("explicit", "implicit")


def waveform(value, name: str):
    """A dataset audio value as mono float32 at 16 kHz: a decoded `datasets.Audio` value (torchcodec `AudioDecoder`),
    a `{"array", "sampling_rate"}` dict, undecoded `{"bytes"}` / `{"path"}`, or a file path."""
    if isinstance(value, dict):
        if value.get("array") is not None:
            return to_mono_16k(value["array"], value["sampling_rate"], name=name)
        if value.get("bytes") is not None:
            from torchcodec.decoders import AudioDecoder

            value = AudioDecoder(value["bytes"])
        elif value.get("path"):
            value = value["path"]
    if hasattr(value, "get_all_samples"):
        samples = value.get_all_samples()  # (channels, samples): the channel mean, as for audio files
        return to_mono_16k(samples.data.mean(dim=0), samples.sample_rate, name=name)
    return to_mono_16k(value, name=name)


class CoTCollator:
    """Collates rows with an audio column and the explicit and implicit target columns through the processor.

    Each variant is `prompt + speech placeholders + target + <|endoftext|>`, labels -100 on prompt, speech and
    padding (the processor's `targets`). Returns the audio inputs plus one dict of `input_ids`, `attention_mask`,
    `labels` per variant under "explicit" and "implicit".
    """

    def __init__(self, processor, audio_column: str = "audio", explicit_column: str = "explicit_target",
                 implicit_column: str = "implicit_target"):
        self.processor = processor
        self.columns = {"audio": audio_column, "explicit": explicit_column, "implicit": implicit_column}

    def __call__(self, rows: list[dict]) -> dict:
        for index, row in enumerate(rows):
            missing = [c for c in self.columns.values() if c not in row]
            if missing:
                raise ValueError(f"row {row.get('id', index)!r}: no column {', '.join(missing)}; training needs "
                                 f"{', '.join(self.columns.values())} (the output of build-cot)")
        waveforms = [waveform(row[self.columns["audio"]], f"row {row.get('id', i)!r}") for i, row in enumerate(rows)]
        # the audio work once per batch; both targets are tokenised over the same features
        names = [f"row {row.get('id', i)!r}" for i, row in enumerate(rows)]
        pairs = [self.processor.waveforms(w, 16000, name) for w, name in zip(waveforms, names)]
        features = self.processor.audio_features([p[0] for p in pairs], [p[1] for p in pairs], names=names)
        batch = {key: features[key] for key in AUDIO_KEYS}
        for variant in VARIANTS:
            targets = [row[self.columns[variant]] for row in rows]
            inputs = self.processor.text_inputs(variant, features, targets=targets)
            batch[variant] = {key: inputs[key] for key in ("input_ids", "attention_mask", "labels")}
        return batch


def select_variant(batch: dict, explicit: bool) -> dict:
    """The model inputs of one variant of a collated batch."""
    return {**{key: batch[key] for key in AUDIO_KEYS}, **batch["explicit" if explicit else "implicit"]}
