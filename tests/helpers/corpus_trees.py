"""Miniature corpus source trees that follow each distribution's real layout and file naming, with tone audio."""

import contextlib
import json
from pathlib import Path

from audio_fixtures import tone

EMO_EMILIA_LABELS = ("angry", "happy", "fearful", "surprised", "neutral", "sad", "disgusted")


def wav(path: Path, seconds=0.3, rate=16000, channels=1, seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tone(path, seconds=seconds, rate=rate, channels=channels, freq=150 + 10 * (seed % 40), seed=seed)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def emo_emilia(root: Path, per_label: int = 1) -> Path:
    """EMO-Emilia-ALL.jsonl + wavs/: per language, `per_label` rows of each of the seven labels (24 kHz, like Emilia)."""
    rows = []
    for language in ("ZH", "EN"):
        for number, label in enumerate(EMO_EMILIA_LABELS * per_label):
            index = f"{language}_B00{number:03d}_S00010_W000{number:03d}"
            wav(root / "wavs" / f"{index}.wav", rate=24000, seed=number)
            rows.append({"index": index, "emotion": label, "wav": f"wavs/{index}.wav", "text": f"{language} {number}"})
    write_jsonl(root / "EMO-Emilia-ALL.jsonl", rows)
    return root


def emo_emilia_release(root: Path, per_label: int = 1, revision: str = "wav") -> Path:
    """The Emo-Emilia release as cloned: root/Emo-Emilia/Emo-Emilia-ALL.jsonl naming audio exactly as the release
    does, relative to root: `./Emo-Emilia/wav/<index>.wav`, or `./Emo-Emilia/<index>.wav` (`revision="old"`)."""
    rows = []
    for language in ("ZH", "EN"):
        for number, label in enumerate(EMO_EMILIA_LABELS * per_label):
            index = f"{language}_B00{number:03d}_S00010_W000{number:03d}"
            relative = f"./Emo-Emilia/wav/{index}.wav" if revision == "wav" else f"./Emo-Emilia/{index}.wav"
            wav(root / relative, rate=24000, seed=number)
            rows.append({"index": index, "emotion": label, "wav": relative, "text": f" {language} {number}"})
    write_jsonl(root / "Emo-Emilia" / "Emo-Emilia-ALL.jsonl", rows)
    return root


def emobox(root: Path, dataset: str, rows: list[tuple[str, str, str]], folds: dict[int, dict[str, list[str]]],
           label_map: dict[str, str] | None = None) -> Path:
    """An EmoBox checkout: data/<dataset>/{<dataset>.jsonl, fold_k/<dataset>_<split>_fold_k.jsonl, label_map.json}
    and audio under downloads/<dataset>/. `rows` are (key, wav path under downloads/<dataset>/, emo)."""
    records = {}
    for number, (key, relative, emo) in enumerate(rows):
        path = wav(root / "downloads" / dataset / relative, rate=16000 if number % 2 else 44100, seed=number)
        records[key] = {"key": key, "dataset": dataset, "wav": str(path.relative_to(root)), "type": "raw",
                        "sample_rate": 16000, "length": 0.3, "emo": emo, "channel": 1}
    folder = root / "data" / dataset
    write_jsonl(folder / f"{dataset}.jsonl", list(records.values()))
    for fold, splits in folds.items():
        for split, keys in splits.items():
            write_jsonl(folder / f"fold_{fold}" / f"{dataset}_{split}_fold_{fold}.jsonl", [records[k] for k in keys])
    if label_map is not None:
        (folder / "label_map.json").write_text(json.dumps(label_map), encoding="utf-8")
    return folder


def load(out: Path, config: str | None = None, **kwargs):
    """`datasets.load_dataset(out, config)` with a cache beside `out`, so tests leave the user's cache alone."""
    import datasets

    return datasets.load_dataset(str(out), config, cache_dir=str(out.parent / "hf-cache"), **kwargs)


def iemocap(root: Path) -> Path:
    """IEMOCAP_full_release with one dialog per session: labels ang, exc, neu, fru (excluded) per dialog."""
    release = root / "IEMOCAP_full_release"
    for session in range(1, 6):
        folder = release / f"Session{session}"
        dialog = f"Ses0{session}F_impro01"
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        transcript = []
        for number, (turn, label) in enumerate((("F000", "ang"), ("M000", "exc"), ("F001", "neu"), ("M001", "fru"))):
            name = f"{dialog}_{turn}"
            wav(folder / "sentences" / "wav" / dialog / f"{name}.wav", seed=session * 10 + number)
            lines += [f"[{number}.0100 - {number}.9000]\t{name}\t{label}\t[2.5000, 3.0000, 2.5000]",
                      "C-E2:\tNeutral;\t()", "A-E1:\tval 3; act 2; dom  3;\t()", ""]
            transcript.append(f"{name} [00{number}.0100-00{number}.9000]: Words number {number}.")
        evaluation = folder / "dialog" / "EmoEvaluation"
        evaluation.mkdir(parents=True)
        (evaluation / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
        (evaluation / "Categorical").mkdir()
        (folder / "dialog" / "transcriptions").mkdir(parents=True)
        (folder / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("\n".join(transcript) + "\n")
    return root


def meld(root: Path) -> Path:
    """MELD.Raw: the three CSVs and clip folders; one test clip is a real mp4 (AAC audio), the others wavs."""
    import subprocess

    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
    labels = {"train": ("joy", "anger", "neutral"), "dev": ("sadness",), "test": ("surprise", "fear", "disgust")}
    folders = {"train": "train_splits", "dev": "dev_splits_complete", "test": "output_repeated_splits_test"}
    for split, emotions in labels.items():
        rows = []
        for number, emotion in enumerate(emotions):
            rows.append(f'{number + 1},"Oh, line {number}!",Chandler,{emotion},neutral,0,{number},1,1,'
                        f'"00:00:01,000","00:00:02,000"\n')
            clip = root / folders[split] / f"dia0_utt{number}"
            if split == "test" and number == 0:
                wav(clip.with_suffix(".tmp.wav"), rate=48000, channels=2, seed=number)
                subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip.with_suffix(".tmp.wav")), "-c:a", "aac",
                                str(clip.with_suffix(".mp4"))], check=True)
                clip.with_suffix(".tmp.wav").unlink()
            else:
                wav(clip.with_suffix(".wav"), rate=48000, seed=number)
        (root / f"{split}_sent_emo.csv").write_text(header + "".join(rows), encoding="utf-8")
    return root


def esd(root: Path, per_emotion: int = 10) -> Path:
    """ESD with speakers 0001 (Chinese) and 0011 (English), `per_emotion` utterances of each of the five emotions at
    the start of each emotion's block of 350 (so the first 20 are the official evaluation set)."""
    for speaker in ("0001", "0011"):
        lines = []
        for block, emotion in enumerate(("Neutral", "Angry", "Happy", "Sad", "Surprise")):
            for offset in range(per_emotion):
                index = block * 350 + 1 + offset * 35  # positions 1, 36, 71, ...: evaluation, test, train x 8
                name = f"{speaker}_{index:06d}"
                wav(root / speaker / emotion / f"{name}.wav", seed=index)
                lines.append(f"{name}\tSentence {index}\t{emotion}")
        (root / speaker / f"{speaker}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@contextlib.contextmanager
def prepared_emo_emilia_with_tiny_model(root: Path):
    """`root/tiny` (a random tiny C2SER) and `root/emo-emilia` (a prepared Emo-Emilia, 7 emotions × zh/en), with a
    datasets cache of its own under `root` while the context is open."""
    import datasets
    import pytest

    from c2ser_hf.new_model import write_random_c2ser
    from c2ser_hf.prepare_data import prepare_data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", root / "datasets-cache")
        patch.setenv("HF_DATASETS_CACHE", str(root / "datasets-cache"))
        write_random_c2ser(root / "tiny")
        prepare_data("emo-emilia", emo_emilia(root / "Emo-Emilia"), root / "emo-emilia")
        yield root


PROBE_CLASSES = {"ANG": 180.0, "SAD": 120.0}  # the class is in the pitch


def prepared_probe_corpus(root: Path, per_class: int, seconds: float) -> tuple[Path, list[str]]:
    """A prepared 2-fold EmoBox corpus of tones (`per_class` clips of each class per session, ids
    `c-s{session}-{class}-{n}`, each session one fold's test split) and a tiny Emotion2Vec-S folder beside it:
    (root, the clip ids). The probe's corpus is `root/corpus`, its model `root/e2v`."""
    import torch

    from c2ser_hf.modeling import Emotion2VecSConfig, Emotion2VecSModel
    from c2ser_hf.prepare_data import prepare_data
    from c2ser_hf.processing import Emotion2VecSFeatureExtractor

    ids = [f"c-s{session}-{label}-{n}" for session in (1, 2) for label in PROBE_CLASSES for n in range(per_class)]
    rows = [(key, f"{key}.wav", key.split("-")[2]) for key in ids]
    folds = {fold: {"test": [key for key in ids if f"-s{fold}-" in key],
                    "train": [key for key in ids if f"-s{fold}-" not in key]} for fold in (1, 2)}
    source = emobox(root / "EmoBox", "corpus", rows, folds, {"ANG": "Angry", "SAD": "Sad"})
    for number, (_, relative, label) in enumerate(rows):
        tone(root / "EmoBox" / "downloads" / "corpus" / relative, seconds=seconds, freq=PROBE_CLASSES[label],
             seed=number)
    prepare_data("emobox", source, root / "corpus")
    torch.manual_seed(0)
    Emotion2VecSModel(Emotion2VecSConfig(
        hidden_size=32, num_hidden_layers=1, num_prenet_layers=1, num_attention_heads=4, intermediate_size=64,
        conv_dim=(16,) * 7, conv_pos_kernel_size=5, num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=4,
        num_extra_tokens=3)).save_pretrained(root / "e2v")
    Emotion2VecSFeatureExtractor(do_normalize=True).save_pretrained(root / "e2v")
    return root, ids
