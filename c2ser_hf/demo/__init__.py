"""The Gradio demo (the Space in `spaces/`): emotion, probabilities, chain of thought and measured evidence for a
clip. Needs the `demo` extra (gradio, matplotlib and the acoustic measurements of `cot`)."""

from .analysis import REFERENCE_STATS, STATS_FILE, Analyzer, load_stats
from .examples import write_examples

__all__ = ["Analyzer", "REFERENCE_STATS", "STATS_FILE", "load_stats", "write_examples"]
