"""Chain-of-thought data construction speed, one process per measurement, baselines in the same run.

    python bench/bench_cot.py [--clips 32] [--repeats 3]

Prints:
  1. attribute extraction on ONE core (torch/BLAS threads 1) as × real time: pitch (Praat), loudness (BS.1770),
     silence trimming, phonemisation, and the three attributes together (target ≥ 20× real time, so 1,200 hours of
     corpus take about a day of one core), decoding excluded and included;
  2. `build_cot` (template descriptions) at --num-proc 1 and 2 against a plain per-file loop (decode, measure,
     template) over the same clips, utterances/s and the ratios (>1 means the pipeline is faster).
Audio is espeak-ng English and Mandarin speech of 1-4 s.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import datasets  # noqa: E402
import torch  # noqa: E402

from c2ser_hf.cot import AcousticMeter, build_cot, count_phonemes, integrated_loudness, template_description  # noqa: E402
from c2ser_hf.cot.acoustics import SAMPLING_RATE, measure_files, speech_span  # noqa: E402
from c2ser_hf.cot.levels import CorpusStats  # noqa: E402
from c2ser_hf.processing.audio_input import to_mono_16k  # noqa: E402
from timing import timed  # noqa: E402

SENTENCES = [
    ("The weather is lovely today, let's go outside.", "en"),
    ("I cannot believe you did that to me again.", "en"),
    ("Please, just leave me alone for a while.", "en"),
    ("What a surprise to see you here after all these years!", "en"),
    ("今天天气很好，我们出去走走吧。", "zh"),
    ("我真的不想再说这件事了。", "zh"),
]
EMOTIONS = ["happiness", "anger", "sadness", "surprise", "happiness", "sadness"]
TARGET = 20.0


def make_corpus(folder: Path, clips: int):
    rows = []
    for i in range(clips):
        text, language = SENTENCES[i % len(SENTENCES)]
        path = folder / f"{i}.wav"
        voice = ["-v", "cmn"] if language == "zh" else []
        subprocess.run(["espeak-ng", *voice, "-w", str(path), "-p", str(30 + 7 * (i % 8)), "-s", str(130 + 15 * (i % 6)),
                        text], check=True)
        rows.append({"audio": str(path), "text": text, "emotion": EMOTIONS[i % len(EMOTIONS)], "language": language})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = make_corpus(tmp, args.clips)
        paths, texts, languages = [r["audio"] for r in rows], [r["text"] for r in rows], [r["language"] for r in rows]
        waves = [to_mono_16k(p) for p in paths]
        seconds = sum(len(w) for w in waves) / SAMPLING_RATE
        meter = AcousticMeter()
        print(f"{args.clips} clips, {seconds:.1f} s of audio; one core (torch threads {torch.get_num_threads()})")

        times, _ = timed({
            "decode (file → 16 kHz mono)": lambda: [to_mono_16k(p) for p in paths],
            "pitch (Praat)": lambda: [meter.pitch(w, SAMPLING_RATE) for w in waves],
            "loudness (BS.1770)": lambda: [integrated_loudness(w, SAMPLING_RATE) for w in waves],
            "trim silence": lambda: [speech_span(w) for w in waves],
            "phonemes": lambda: count_phonemes(texts, languages),
            "pitch + loudness + rate": lambda: meter(waves, texts, languages),
            "decode + all three": lambda: measure_files(paths, texts, languages, meter=meter),
        }, args.repeats)
        print("[1] attribute extraction, one core:")
        for name, t in times.items():
            print(f"    {name:30s} {t * 1000:8.1f} ms  {seconds / t:8.1f}× real time")
        together = seconds / times["pitch + loudness + rate"]
        status = "meets" if together >= TARGET else "!!! BELOW"
        print(f"    pitch + loudness + rate: {together:.1f}× real time ({status} the {TARGET:g}× target; "
              f"1,200 h take {1200 / together:.1f} h of one core)")

        dataset = datasets.Dataset.from_list(rows).cast_column("audio", datasets.Audio())
        stats = CorpusStats.from_values({k: [getattr(a, k) for a in meter(waves, texts, languages)]
                                         for k in ("pitch_hz", "loudness_lufs", "speaking_rate")})
        runs = iter(range(10 ** 6))

        def loop():
            for path, text, language, row in zip(paths, texts, languages, rows):
                result = measure_files([path], [text], [language], meter=meter)[0]
                template_description(stats.levels(result), text, row["emotion"], language)

        def pipeline(num_proc):
            return lambda: build_cot(dataset, tmp / f"out{next(runs)}", stats=stats, num_proc=num_proc,
                                     shard_size=max(1, args.clips // 8), progress=False)

        start = time.perf_counter()
        times, _ = timed({"per-file loop": loop, "build_cot --num-proc 1": pipeline(1),
                          "build_cot --num-proc 2": pipeline(2)}, args.repeats)
        print(f"[2] whole pipeline over {args.clips} clips (template descriptions), {os.cpu_count()} CPUs:")
        for name, t in times.items():
            print(f"    {name:24s} {t:7.2f} s  {args.clips / t:7.1f} utt/s  {times['per-file loop'] / t:5.2f}× the loop")
        print(f"    --num-proc 2 vs 1: {times['build_cot --num-proc 1'] / times['build_cot --num-proc 2']:.2f}×  "
              f"(bench wall {time.perf_counter() - start:.0f} s)")
    return 0 if together >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
