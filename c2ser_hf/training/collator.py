"""Rows of a chain-of-thought dataset (the output of `build-cot`) → C2SER training batches, explicit AND implicit.

Which of the two a batch trains on is decided per optimizer step by the trainer (see `schedule.py`): a collator runs
in dataloader workers, ahead of the step, and cannot know it. So every batch carries the audio inputs once and the
text inputs of both targets; `select_variant` keeps one.
"""

import logging

from ..dataset_io import decode_audio, row_name
from ..processing.audio_input import AudioInputError

AUDIO_KEYS = ("input_features", "feature_attention_mask", "input_values", "input_values_mask")
VARIANTS = ("explicit", "implicit")

logger = logging.getLogger(__name__)


class CoTCollator:
    """Collates rows with an audio column and the explicit and implicit target columns through the processor.

    Each variant is `prompt + speech placeholders + target + <|endoftext|>`, labels -100 on prompt, speech and
    padding (the processor's `targets`). Returns the audio inputs plus one dict of `input_ids`, `attention_mask`,
    `labels` per variant under "explicit" and "implicit".
    """

    def __init__(self, processor, audio_column: str = "audio", explicit_column: str = "explicit_target",
                 implicit_column: str = "implicit_target", audio_feature=None):
        self.processor = processor
        self.audio_feature = audio_feature  # the dataset's `datasets.Audio` (its rate), for undecoded rows
        self.columns = {"audio": audio_column, "explicit": explicit_column, "implicit": implicit_column}

    def __call__(self, rows: list[dict]) -> dict:
        for index, row in enumerate(rows):
            missing = [c for c in self.columns.values() if c not in row]
            if missing:
                raise ValueError(f"row {row.get('id', index)!r}: no column {', '.join(missing)}; training needs "
                                 f"{', '.join(self.columns.values())} (the output of build-cot)")
        waveforms, names, kept = [], [], []
        for index, row in enumerate(rows):
            name = row_name(row, position=index)
            try:
                waveforms.append(decode_audio(row[self.columns["audio"]], name, self.audio_feature))
            except AudioInputError as error:  # a clip whose header read but whose audio does not: left out, named
                logger.warning("left out of the batch: %s", error)
                continue
            names.append(name)
            kept.append(row)
        if not kept:
            raise ValueError(f"no row of a batch of {len(rows)} could be decoded; see the warnings above")
        rows = kept
        # the audio work once per batch; both targets are tokenised over the same features
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
