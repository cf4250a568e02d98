"""Does the category-level contrastive loss help? A proof on synthetic speech whose emotion is in the prosody.

    nice python bench/bench_emotion2vec_s_pretraining.py [--steps 300] [--work DIR] [--summary FILE]

1. espeak-ng speaks neutral sentences with four "emotions" coded in pitch, rate and loudness (with per-clip jitter),
   in several voices: a labelled pretraining corpus plus unlabelled clips of random prosody, and a separate probe
   corpus of other sentences and voices with four leave-one-voice-out folds (both through `prepare-data`).
2. A small Emotion2Vec-S is pretrained from one random initialisation for `--steps` CPU steps twice, with and
   without L_cate (lambda_cate = 100 vs 0), through `pretrain()` (the Trainer, the EMA callback, the collator).
3. The probe (the paper's 3-FC head; batches of 16, the corpus being small) scores the untrained model and both
   pretrained ones on the probe corpus, and the ratio of mean intra-class to mean inter-class cosine distance of the
   pooled features is measured (lower means the classes are tighter and further apart).
Prints UA (and WA) per model, the distance ratios, and one JSON line (`SUMMARY`). The three numbers come from one
run, on the same data and initial weights. With `--work`, a rerun reuses the corpora and finished pretraining runs.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from summary import emit  # noqa: E402

from c2ser_hf.emotion2vec_training import Emotion2VecPretrainingArguments, pretrain  # noqa: E402
from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSForPreTraining  # noqa: E402
from c2ser_hf.prepare_data import prepare_data  # noqa: E402
from c2ser_hf.probe import FeatureCache, probe  # noqa: E402
from c2ser_hf.probe.run import storage_key  # noqa: E402
from c2ser_hf.probe.train import clip_features  # noqa: E402
from c2ser_hf.processing import Emotion2VecSFeatureExtractor  # noqa: E402

# espeak-ng settings per emotion: pitch (0-99), words per minute, amplitude (0-200)
PROSODY = {
    "Angry": (65, 210, 180),
    "Happy": (90, 175, 130),
    "Sad": (20, 110, 60),
    "Neutral": (45, 150, 100),
}
SENTENCES = [
    "The train leaves from the second platform at noon.", "Please put the books back on the shelf.",
    "We walked along the river until the evening.", "The meeting has been moved to Thursday.",
    "She bought three apples and a loaf of bread.", "The window in the kitchen is open.",
    "He wrote the report on his old computer.", "The garden needs water after a dry week.",
    "Our neighbours painted their fence white.", "The letter arrived two days later.",
    "I left my umbrella at the station.", "They are building a new bridge downtown.",
    "The museum opens at nine in the morning.", "A small dog was sleeping under the table.",
    "The soup is ready, the plates are on the table.", "My brother plays the piano every Sunday.",
    "The bus was full, so we took a taxi.", "The printer on the third floor is broken.",
    "She planted tomatoes near the fence.", "The clock in the hall stopped at midnight.",
]
PRETRAIN_VOICES = ["en-us", "en-gb+f2", "en-029", "en-us+m3"]
PROBE_VOICES = ["en-gb-scotland", "en-us+f3", "en-gb-x-rp", "en-gb-x-gbclan+f1"]
SMALL = dict(
    hidden_size=64, num_hidden_layers=4, num_prenet_layers=1, num_attention_heads=4, intermediate_size=128,
    conv_dim=(64,) * 7, conv_pos_kernel_size=9, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=16,
    num_extra_tokens=10, decoder_dim=32, decoder_layers=2, decoder_groups=16, num_mask_copies=4,
    average_top_k_layers=3,
)


def speak(path: Path, text: str, voice: str, pitch: int, speed: int, amplitude: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), "-p", str(pitch), "-s", str(speed), "-a",
                    str(amplitude), text], check=True, capture_output=True)


def emobox_corpus(root: Path, name: str, voices: list[str], sentences: list[str], rng, folds: bool) -> Path:
    """An EmoBox-layout corpus: every voice says every sentence with every emotion's prosody, jittered; with
    `folds`, fold k tests on voice k (leave one voice out)."""
    records = []
    for v, voice in enumerate(voices):
        for s, sentence in enumerate(sentences):
            for emotion, (pitch, speed, amplitude) in PROSODY.items():
                key = f"{name}-v{v}-s{s}-{emotion}"
                wav = root / "downloads" / f"{key}.wav"
                speak(wav, sentence, voice, pitch + rng.integers(-8, 9), speed + rng.integers(-12, 13),
                      amplitude + rng.integers(-15, 16))
                records.append({"key": key, "dataset": name, "wav": str(wav), "type": "raw", "sample_rate": 22050,
                                "length": 2.0, "emo": emotion[0], "channel": 1, "voice": v})
    folder = root / "data" / name
    folder.mkdir(parents=True)
    write = lambda path, rows: path.write_text("".join(json.dumps(r) + "\n" for r in rows))  # noqa: E731
    write(folder / f"{name}.jsonl", records)
    (folder / "label_map.json").write_text(json.dumps({e[0]: e for e in PROSODY}))
    if folds:
        for v in range(len(voices)):
            (folder / f"fold_{v + 1}").mkdir()
            write(folder / f"fold_{v + 1}" / f"{name}_train_fold_{v + 1}.jsonl", [r for r in records if r["voice"] != v])
            write(folder / f"fold_{v + 1}" / f"{name}_test_fold_{v + 1}.jsonl", [r for r in records if r["voice"] == v])
    return folder


def unlabelled_clips(root: Path, voices: list[str], sentences: list[str], rng) -> Path:
    for v, voice in enumerate(voices):
        for s, sentence in enumerate(sentences):
            speak(root / f"u-v{v}-s{s}.wav", sentence, voice, rng.integers(15, 95), rng.integers(100, 220),
                  rng.integers(50, 190))
    return root


def distance_ratio(cache: FeatureCache, ids: list[str], labels: list[str]) -> float:
    """Mean cosine distance between clips of one class over that between clips of different classes (pooled,
    layer-normalised features as the probe sees them)."""
    pooled = torch.stack([clip_features(cache.load(i)).mean(0) for i in ids])
    z = torch.nn.functional.normalize(pooled, dim=-1)
    distance = 1 - z @ z.T
    same = torch.tensor([[a == b for b in labels] for a in labels])
    off_diagonal = ~torch.eye(len(ids), dtype=torch.bool)
    return (distance[same & off_diagonal].mean() / distance[~same].mean()).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--work", help="working folder (default: a temporary one)")
    parser.add_argument("--summary", help="also write the JSON summary line to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = Path(args.work or tempfile.mkdtemp(prefix="e2v-pretraining-"))
    start = time.time()
    if not (work / "untrained").is_dir():
        pretrain_source = emobox_corpus(work / "pretrain_src", "synthemo", PRETRAIN_VOICES, SENTENCES[:12],
                                        np.random.default_rng(0), False)
        unlabelled_clips(work / "unlabelled", PRETRAIN_VOICES, SENTENCES[:12], np.random.default_rng(1))
        probe_source = emobox_corpus(work / "probe_src", "synthprobe", PROBE_VOICES, SENTENCES[12:],
                                     np.random.default_rng(2), True)
        prepare_data("emobox", pretrain_source, work / "pretrain_corpus")
        prepare_data("emobox", probe_source, work / "probe_corpus")
        torch.manual_seed(0)
        Emotion2VecSForPreTraining(Emotion2VecSConfig(**SMALL)).save_pretrained(work / "untrained")
        Emotion2VecSFeatureExtractor(do_normalize=True).save_pretrained(work / "untrained")
    print(f"corpora: 192 labelled + 48 unlabelled pretraining clips, 128 probe clips ({time.time() - start:.0f} s)")

    from transformers import TrainingArguments

    runs = {"untrained": work / "untrained"}
    for name, weight in (("without L_cate", 0.0), ("with L_cate", 100.0)):
        out = work / ("with_cate" if weight else "without_cate")
        pretraining = Emotion2VecPretrainingArguments(
            model=str(work / "untrained"), config_overrides={"category_loss_weight": weight},
            datasets=[{"path": str(work / "pretrain_corpus")},
                      {"path": "audiofolder", "data_dir": str(work / "unlabelled"), "label_column": None}],
            ema_decay=0.99, ema_end_decay=0.999, ema_anneal_end_step=args.steps,
        )
        training = TrainingArguments(
            output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=8, learning_rate=5e-4,
            weight_decay=0.01, warmup_steps=0.05, lr_scheduler_type="cosine", adam_beta2=0.98, adam_epsilon=1e-6,
            max_grad_norm=0.0, logging_steps=25, save_strategy="no", use_cpu=True, report_to="none", seed=1,
            disable_tqdm=True, dataloader_num_workers=0,
        )
        if not (out / "model.safetensors").is_file():
            began = time.time()
            pretrain(pretraining, training)
            print(f"{name}: {args.steps} steps in {time.time() - began:.0f} s")
        runs[name] = out

    report = probe([str(path) for path in runs.values()], [str(work / "probe_corpus")], work / "probe",
                   heads=("paper",), batch_size=16, progress=False)
    print(report["tables"])
    results = report["results"]
    summary = {"steps": args.steps}
    for name, path in runs.items():
        entries = [entry for entry in results.values() if entry["model"] == str(path)]
        cache = FeatureCache(work / "probe" / "features" / storage_key(str(path)) / storage_key(str(work / "probe_corpus")))
        ids = [i for entry in entries for i in entry["ids"]]
        labels = [r for entry in entries for r in entry["references"]]
        summary[name] = {
            "ua": float(np.mean([entry["ua"] for entry in entries])),
            "wa": float(np.mean([entry["wa"] for entry in entries])),
            "intra_inter_distance_ratio": distance_ratio(cache, ids, labels),
        }
    for name, values in summary.items():
        if name != "steps":
            print(f"{name:>16}: probe UA {100 * values['ua']:.1f} %, WA {100 * values['wa']:.1f} %, "
                  f"intra/inter class distance {values['intra_inter_distance_ratio']:.3f}")
    base = summary["without L_cate"]["ua"]
    print(f"UA with L_cate / without: {summary['with L_cate']['ua'] / base:.2f}x; "
          f"with / untrained: {summary['with L_cate']['ua'] / summary['untrained']['ua']:.2f}x")
    emit(summary, args.summary)


if __name__ == "__main__":
    main()
