"""The Gradio page of the demo and its API. Two model endpoints share one queue slot sized for one GPU and batch
the requests waiting in it: `/analyze` (audio, transcript → the analysis dict) and `/explain` (audio → the chain
of thought). Drawing the result happens in a second step outside the model's slot."""

import gradio as gr

from ..processing import EMOTIONS
from ..processing.audio_input import to_mono_16k
from .analysis import MAX_TRANSCRIPT_CHARACTERS, Analyzer
from .figures import probability_table, timeline_figure, waveform_figure

# One model on one GPU: its endpoints run one batch at a time, each batch up to MAX_BATCH requests.
MAX_BATCH = 8
# Requests waiting beyond this are refused with "queue full" instead of waiting for minutes.
QUEUE_SIZE = 128
# Drawing runs on CPU threads beside the model.
DRAWING_CONCURRENCY = 4
# The evidence table's rows: measurement → (name, unit).
EVIDENCE_ROWS = {"pitch_hz": ("pitch", "Hz"), "loudness_lufs": ("loudness", "LUFS"),
                 "speaking_rate": ("speaking rate", "phonemes/s")}

INTRO = """# C²SER: speech emotion recognition you can check
C²SER listens for **what** is said (Whisper) and **how** it is said (Emotion2Vec-S), then infers the emotion with a
language model. Upload or record a clip (any format, rate, channels or length; clips over 30 s are scored per
window). The evidence below is measured from the signal: mean pitch, loudness (LUFS) and, when you type the
transcript, the speaking rate in phonemes per second.

Model: `{model}` · levels against: {stats}"""


def _status(result: dict) -> str:
    if "error" in result:
        return f"**Cannot use this audio.** {result['error']}"
    windows = len(result.get("segments", [])) or 1
    return f"{result['duration_s']:.1f} s of audio, scored in {windows} window{'s' if windows > 1 else ''}."


def _evidence_table(result: dict) -> str:
    rows = ["| evidence | value | level |", "|---|---|---|"]
    for key, (name, unit) in EVIDENCE_ROWS.items():
        value = result["evidence"][key]
        shown = f"{value:.1f} {unit}" if value is not None else f"— ({result['reasons'].get(key, 'not measured')})"
        rows.append(f"| {name} | {shown} | {result['levels'][key] or '—'} |")
    return "\n".join(rows)


def render(result: dict | None, audio: str | None):
    """The page's view of one analysis: status, label, bar chart, evidence table, waveform, timeline."""
    if not result or "error" in result:
        return (_status(result) if result else "", None, None, "", None, gr.Plot(value=None, visible=False))
    windowed = "segments" in result
    timeline = gr.Plot(value=timeline_figure(result["segments"]) if windowed else None, visible=windowed)
    return (_status(result), {result["emotion"]: result["scores"][result["emotion"]]},
            probability_table(result["scores"]), _evidence_table(result),
            waveform_figure(to_mono_16k(audio), result["pitch_contour"]), timeline)


def render_explanation(answer: dict | None):
    if not answer:
        return gr.skip(), ""
    if "error" in answer:
        return _status(answer), ""
    return gr.skip(), answer["text"]


def build_demo(analyzer: Analyzer, model_name: str, examples: list[list[str]] | None = None) -> gr.Blocks:
    """The page with its queue set up; launching it is the caller's."""

    def analyze(audios: list, transcripts: list) -> tuple[list]:
        return (analyzer.analyze(audios, transcripts),)

    def explain(audios: list) -> tuple[list]:
        return (analyzer.explain(audios),)

    with gr.Blocks(title="C²SER speech emotion recognition") as demo:
        gr.Markdown(INTRO.format(model=model_name, stats=analyzer.stats_source))
        with gr.Row():
            with gr.Column(scale=2):
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech", elem_id="audio")
                transcript = gr.Textbox(label="Transcript (optional: the speaking rate needs it)", elem_id="transcript",
                                        max_length=MAX_TRANSCRIPT_CHARACTERS)
                with gr.Row():
                    analyze_button = gr.Button("Recognise the emotion", variant="primary", elem_id="analyze")
                    explain_button = gr.Button("Explain (chain of thought)", elem_id="explain")
                if examples:
                    gr.Examples(examples, [audio, transcript], cache_examples=False)
            with gr.Column(scale=3):
                status = gr.Markdown(elem_id="status")
                label = gr.Label(label="Emotion", num_top_classes=1, elem_id="emotion")
                bars = gr.BarPlot(x="emotion", y="probability", sort=list(EMOTIONS), y_lim=[0, 1],
                                  label="Probabilities", elem_id="probabilities")
                explanation = gr.Textbox(label="Chain of thought", lines=4, elem_id="explanation")
                evidence = gr.Markdown(elem_id="evidence")
                waveform = gr.Plot(label="Waveform and pitch contour", elem_id="waveform")
                timeline = gr.Plot(label="Emotion per window", visible=False, elem_id="timeline")
                with gr.Accordion("API result (gradio_client: api_name='/analyze')", open=False):
                    result = gr.JSON(elem_id="result")
                    answer = gr.JSON(visible=False)

        analyze_button.click(
            analyze, [audio, transcript], [result], api_name="analyze", batch=True, max_batch_size=MAX_BATCH,
            concurrency_id="model", concurrency_limit=1,
        ).then(render, [result, audio], [status, label, bars, evidence, waveform, timeline], api_visibility="private",
               concurrency_id="drawing", concurrency_limit=DRAWING_CONCURRENCY)
        explain_button.click(
            explain, [audio], [answer], api_name="explain", batch=True, max_batch_size=MAX_BATCH,
            concurrency_id="model", concurrency_limit=1,
        ).then(render_explanation, [answer], [status, explanation], api_visibility="private")
    return demo.queue(max_size=QUEUE_SIZE)
