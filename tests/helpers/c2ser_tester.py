"""The tiny C2SER of the tests (as transformers' `ModelTester`): its configuration and its processor, built once per
session (the `tester` fixture of conftest.py), models with non-trivial random weights, and inputs made through the
processor from random waveforms."""

import numpy as np
import torch

from c2ser_hf.modeling import C2SERForConditionalGeneration
from c2ser_hf.new_model import build_random_c2ser
from test_helpers import randomized


class C2SERModelTester:
    def __init__(self):
        # what `c2ser-hf new --size tiny` writes: the tiny configuration and the tiny offline tokenizer's processor
        model, self.processor = build_random_c2ser("tiny")
        self.config = model.config

    def model(self, seed: int = 0) -> C2SERForConditionalGeneration:
        """A model of the tiny configuration, its weights drawn from `seed`, in eval mode."""
        torch.manual_seed(seed)
        return randomized(C2SERForConditionalGeneration(self.config))

    @staticmethod
    def clips(samples: list[int], seed: int = 0) -> list[np.ndarray]:
        """Random 16 kHz waveforms of the given lengths."""
        rng = np.random.default_rng(seed)
        return [rng.normal(0, 0.1, n).astype(np.float32) for n in samples]

    def inputs(self, samples: list[int], seed: int = 0, **processor_kwargs):
        """Processor output (left-padded batch) for random clips of the given lengths."""
        return self.processor(self.clips(samples, seed), **processor_kwargs)

    def one_by_one(self, samples: list[int], seed: int = 0, **processor_kwargs) -> list:
        """The same clips as `inputs`, each through the processor alone."""
        return [self.processor(clip, **processor_kwargs) for clip in self.clips(samples, seed)]
