"""The demo's pictures of an analysis result: the seven probabilities as a table for a bar chart, the waveform with
the pitch contour over it, and the emotion per window of long audio."""

import numpy as np

from ..cot.acoustics import SAMPLING_RATE
from ..processing import EMOTIONS

# One colour per emotion, in the order of EMOTIONS, shared by every picture.
COLORS = ("#d62728", "#ffbf00", "#7f7f7f", "#1f77b4", "#9467bd", "#2ca02c", "#8c564b")
# The waveform is drawn as a min/max envelope over this many columns, whatever the clip length.
ENVELOPE_COLUMNS = 1200


def probability_table(scores: dict):
    """The seven probabilities as a pandas table (emotion, probability), in the order of EMOTIONS."""
    import pandas as pd

    return pd.DataFrame({"emotion": list(EMOTIONS), "probability": [float(scores[e]) for e in EMOTIONS]})


def _figure(height: float):
    # The Agg backend draws without a display (servers, Spaces); a Figure made directly needs no pyplot state.
    from matplotlib.figure import Figure

    return Figure(figsize=(9, height), layout="constrained")


def waveform_figure(waveform: np.ndarray, contour: dict):
    """The waveform (min/max envelope) with the pitch contour (Hz, right axis) drawn over it."""
    figure = _figure(3.0)
    axis = figure.add_subplot()
    columns = min(ENVELOPE_COLUMNS, len(waveform))
    chunks = np.array_split(waveform, columns)
    times = np.array([len(c) for c in chunks]).cumsum() / SAMPLING_RATE
    axis.fill_between(times, [c.min() for c in chunks], [c.max() for c in chunks], color="#9ecae1", linewidth=0)
    axis.set_xlim(0, len(waveform) / SAMPLING_RATE)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("amplitude")
    pitch_axis = axis.twinx()
    hz = np.array([np.nan if f is None else f for f in contour["hz"]], dtype=float)
    pitch_axis.plot(contour["times"], hz, color="#d62728", linewidth=2, label="pitch")
    pitch_axis.set_ylabel("pitch (Hz)", color="#d62728")
    if np.isfinite(hz).any():
        pitch_axis.set_ylim(0, np.nanmax(hz) * 1.2)
    return figure


def timeline_figure(segments: list[dict]):
    """The seven probabilities of each window as stacked bars over time, the window's emotion written above it."""
    figure = _figure(2.8)
    axis = figure.add_subplot()
    starts = np.array([s["start"] for s in segments])
    widths = np.array([s["end"] - s["start"] for s in segments])
    bottom = np.zeros(len(segments))
    for emotion, color in zip(EMOTIONS, COLORS):
        heights = np.array([s["scores"][emotion] for s in segments])
        axis.bar(starts, heights, widths * 0.96, bottom=bottom, align="edge", color=color, label=emotion)
        bottom += heights
    for start, width, segment in zip(starts, widths, segments):
        axis.text(start + width / 2, 1.02, segment["emotion"], ha="center", va="bottom")
    axis.set_ylim(0, 1.15)
    axis.set_xlim(0, float((starts + widths).max()))
    axis.set_xlabel("time (s)")
    axis.set_ylabel("probability")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return figure
