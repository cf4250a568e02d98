"""Proof of learning: C²SER's two-stage training, end to end on this CPU, on a synthetic corpus it can learn.

Seven emotions are coded both in the words and in the prosody of espeak-ng speech, in English and Mandarin. Train and
held-out test sets (different sentences) go through the user's path: an Emo-Emilia-layout source (jsonl with index,
emotion, wav, text) → `c2ser-hf prepare-data` → `c2ser-hf build-cot --template-only` (the test set described against
the training set's statistics) → `c2ser-hf train` stage 1 (explicit) from randomly initialised pretrained parts of
the tiny size, the language model first pretrained for a minute on the training texts → stage 2 (explicit →
implicit, linear schedule) from stage 1's model. The shipped recipes run with a reduced model and a learning rate for
randomly initialised parts (the paper's 5e-5 is for pretrained 7B weights).
Then, on the held-out set, `c2ser-hf evaluate`: implicit accuracy (greedy answers parsed to a label; chance 1/7),
and how many explicit answers state the speaking rate, pitch and loudness levels of their clip. Prints the learning
curves.

Run late, niced, on an otherwise idle machine: nice -n 19 python bench/bench_train_learning.py [--work DIR]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

EMOTIONS = {  # label of the source, espeak-ng pitch / speed (wpm) / amplitude, words that carry the emotion
    # pitch and speed as the emotions are usually portrayed; the speeds 30 % apart (100 × 1.3^k wpm) and the amplitudes
    # spread. A tiny model trained from random weights hears the speaking rate first and confuses emotions of
    # neighbouring rates. Held-out accuracy (seed 0 unless said): speeds 8-14 % apart among the fast emotions, 57-67 %;
    # 16 % apart, 78.6 %; 20 % apart, 86.9 % on held-out contexts, then on held-out subject/context pairs 95.8 % but
    # 57.1 % with seed 1; 30 % apart, 85.7 % (seed 1) on 1,344 training clips and, with 30 contexts (2,016 clips):
    # 96.4 % (seed 1) but 85.1 % (seed 0) after 600 + 3,000 steps, underfitted (85.1 % ↔ 89.5 % on the training clips
    # themselves). Since training no longer back-propagates through the frozen Emotion2Vec-S (a step 0.37 → 0.22 s),
    # the default 1,000 + 5,000 steps fit in the same ~23 minutes: 96.4 % (seed 0), 93.5 % (1), 95.2 % (2), but 54.2 %
    # (3), whose model gets only 52.5 % of its training clips right, with errors between distant speaking rates too.
    # Seed 3's corpus and training order reach 98.8 % with all of seed 0's random parts and 99.4 % with only seed 0's
    # language model: what fails on some draws is the frozen random language model standing in for a pretrained one.
    # Pretrained for a minute on the training texts first (--pretrain-steps, default 1,500), seeds 0-4 reach 95.8 %,
    # 98.2 %, 97.6 %, 94.6 % and 93.5 %, each in about 24 minutes
    "angry": (40, 371, 195, ["furious", "so angry", "fed up", "outraged"], ["气死我了", "太生气了", "非常愤怒", "受够了"]),
    "happy": (80, 220, 135, ["so happy", "delighted", "thrilled", "overjoyed"], ["太开心了", "真高兴", "好快乐", "很愉快"]),
    "neutral": (50, 169, 100, ["fine", "as usual", "normal", "okay"], ["还行", "一般", "照常", "普通"]),
    "sad": (20, 100, 35, ["so sad", "heartbroken", "miserable", "in tears"], ["很难过", "好伤心", "太悲伤了", "想哭"]),
    "surprised": (95, 286, 165, ["amazed", "shocked", "astonished", "stunned"], ["太惊讶了", "真吃惊", "没想到", "好意外"]),
    "disgusted": (30, 130, 80, ["disgusted", "revolted", "sickened", "grossed out"], ["真恶心", "太讨厌了", "好厌恶", "反感"]),
    "fearful": (70, 483, 55, ["terrified", "so scared", "afraid", "frightened"], ["好害怕", "太恐惧了", "吓死了", "很担心"]),
}
SUBJECTS = {"en": ["I am", "We are", "She is", "He is", "They are", "You are"],
            "zh": ["我", "我们", "她", "他", "他们", "你"]}
CONTEXTS = {"en": ["about the trip", "after the meeting", "with the news", "at the station", "about the letter",
                   "after dinner", "about the results", "in the morning", "at the market", "with the answer",
                   "about the house", "after the game", "with the teacher", "at the office", "about the weather",
                   "after the call", "about the movie", "in the evening", "at the party", "with the plan",
                   "about the garden", "after the concert", "with the neighbours", "at the airport", "about the exam",
                   "after the holiday", "about the price", "in the kitchen", "at the hospital", "with the children"],
            "zh": ["因为这次旅行", "开完会以后", "听到消息", "在车站", "看到这封信", "吃完饭", "看到结果", "今天早上",
                   "在市场", "听到回答", "因为房子", "比赛以后", "和老师在一起", "在办公室", "因为天气", "打完电话",
                   "看完电影", "今天晚上", "在聚会上", "因为这个计划",
                   "因为花园", "听完音乐会", "和邻居在一起", "在机场", "因为考试", "放假以后", "看到价格", "在厨房",
                   "在医院", "和孩子们在一起"]}


def run(*command):
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "c2ser_hf.cli", *map(str, command)], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(map(str, command[:2]))} failed:\n{result.stderr[-3000:]}")
    print(f"  c2ser-hf {command[0]}: {time.perf_counter() - started:.0f} s")
    return result.stdout


def sentences(language, words, count, rng, held_out):
    """Distinct sentences; the test set uses subject/context pairs the training set never has (a diagonal of the
    subject × context table, so every subject and every context of the test set is also heard in training)."""
    pairs = [(s, c) for i, s in enumerate(SUBJECTS[language]) for j, c in enumerate(CONTEXTS[language])
             if ((i + j) % 5 == 0) == held_out]
    rng.shuffle(pairs)
    joined = (lambda s, w, c: f"{s} {w} {c}.") if language == "en" else (lambda s, w, c: f"{s}{c}{w}。")
    return [joined(s, words[i % len(words)], c) for i, (s, c) in enumerate(pairs[:count])]


def synthesize(folder: Path, per_emotion_language: int, held_out: bool, seed: int) -> Path:
    """An Emo-Emilia-layout source: Emo-Emilia.jsonl and wav/."""
    rng = random.Random(seed)
    (folder / "wav").mkdir(parents=True, exist_ok=True)
    rows = []
    for label, (pitch, speed, amplitude, en_words, zh_words) in EMOTIONS.items():
        for language, words in (("en", en_words), ("zh", zh_words)):
            for number, text in enumerate(sentences(language, words, per_emotion_language, rng, held_out)):
                index = f"{language.upper()}_B{len(rows):05d}_S{number:05d}_W000000"
                jitter = rng.uniform(-0.05, 0.05)
                voice = ["-v", "cmn"] if language == "zh" else ["-v", "en"]
                subprocess.run(["espeak-ng", *voice, "-w", str(folder / "wav" / f"{index}.wav"),
                                "-p", str(round(pitch * (1 + jitter))), "-s", str(round(speed * (1 - jitter))),
                                "-a", str(round(amplitude * (1 + jitter))), text], check=True, capture_output=True)
                rows.append({"index": index, "emotion": label, "wav": f"wav/{index}.wav", "text": text})
    (folder / "Emo-Emilia.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return folder


def curve(run_dir: Path, points: int = 15) -> list[dict]:
    """About `points` of the run's logged steps, the last one included."""
    state = max(run_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[1]))
    logged = [e for e in json.loads(state.read_text())["log_history"] if "loss" in e]
    stride = max(1, len(logged) // points)
    return [logged[i] for i in sorted({*range(0, len(logged), stride), len(logged) - 1})]


def pretrain_language_model(folder: Path, corpus: Path, steps: int, seed: int) -> str:
    """The random language model, trained as a causal LM on the training split's texts (transcripts, explicit and
    implicit answers; never the held-out set) with no audio, so that like the pretrained Qwen2 that C²SER starts from
    it knows the language it will answer in. A frozen random network under LoRA is a poor stand-in: some draws cannot
    be adapted (seed 3: 54.2 % held out, 52.5 % on its own training clips). Returns the pretrained folder."""
    import datasets
    import torch
    from transformers import AutoTokenizer, Qwen2ForCausalLM

    out = folder.with_name(folder.name + "_pretrained")
    if (out / "config.json").exists():
        return str(out)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = Qwen2ForCausalLM.from_pretrained(folder).train()
    rows = datasets.load_dataset(str(corpus), split="test").remove_columns("audio")
    texts = [text + tokenizer.eos_token for row in rows
             for text in (row["text"], row["explicit_target"], row["implicit_target"])]
    rng = random.Random(seed)
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # nothing else runs yet
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1, (step + 1) / 100) * (1 - step / steps))
    for step in range(steps):
        batch = tokenizer(rng.sample(texts, 32), return_tensors="pt", padding=True)
        loss = model(**batch, labels=batch.input_ids.masked_fill(batch.attention_mask == 0, -100)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"  step {step + 1:5d}  loss {loss.item():.3f}")
    torch.set_num_threads(threads)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.eval().save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.rename(out)
    print(f"  {time.perf_counter() - started:.0f} s")
    return str(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="bench_train_learning", help="working folder (kept for inspection)")
    pairs = len(SUBJECTS["en"]) * len(CONTEXTS["en"])  # a fifth of them held out
    parser.add_argument("--per-class", type=int, default=pairs * 4 // 5,
                        help=f"training clips per emotion and language (at most {pairs * 4 // 5}: distinct "
                        "subject/context pairs)")
    parser.add_argument("--test-per-class", type=int, default=12,
                        help=f"held-out clips per emotion and language (at most {pairs // 5})")
    parser.add_argument("--pretrain-steps", type=int, default=1500,
                        help="text-only steps that make the random language model a stand-in for a pretrained one "
                        "(0: use it as drawn)")
    parser.add_argument("--stage1-steps", type=int, default=1000)
    parser.add_argument("--stage2-steps", type=int, default=5000)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0,
                        help="of the corpus (jitter, sentence order), the initial weights and training (42 + seed)")
    args = parser.parse_args()
    if args.pretrain_steps < 0:
        parser.error(f"--pretrain-steps must be 0 or more, got {args.pretrain_steps}")
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the trainer; its dataloader worker takes the other core
    started = time.perf_counter()

    print("corpus")
    for split, count, held_out, seed in (("train", args.per_class, False, 2 * args.seed),
                                         ("test", args.test_per_class, True, 2 * args.seed + 1)):
        if not (work / f"{split}_cot").exists():
            synthesize(work / f"{split}_source", count, held_out, seed)
            run("prepare-data", "emo-emilia", "--source", work / f"{split}_source", "--out", work / f"{split}_data",
                "--overwrite")
            stats = ["--stats", work / "train_cot" / "stats.json"] if split == "test" else []
            run("build-cot", "--dataset", work / f"{split}_data", "--config", "all", "--out", work / f"{split}_cot",
                "--template-only", "--num-proc", "2", *stats)
    print(f"  {sum(1 for _ in (work / 'train_source' / 'wav').iterdir())} training and "
          f"{sum(1 for _ in (work / 'test_source' / 'wav').iterdir())} held-out clips")

    from c2ser_hf.new_model import write_random_parts
    from c2ser_hf.training.assembly import TRAINED_MODULES

    parts = write_random_parts(work / "parts", size="tiny", seed=args.seed)
    if args.pretrain_steps:
        print("language model pretraining (text only)")
        parts["language_model"] = pretrain_language_model(Path(parts["language_model"]), work / "train_cot",
                                                          args.pretrain_steps, seed=args.seed)
    common = ["--dataset_name", work / "train_cot", "--dataset_train_split", "test",
              "--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--gradient_checkpointing", "false",
              "--learning_rate", args.learning_rate, "--per_device_train_batch_size", args.batch_size,
              "--gradient_accumulation_steps", "1", "--dataloader_num_workers", "1", "--logging_steps", "10",
              "--save_steps", "100", "--save_total_limit", "1", "--disable_tqdm", "true", "--seed", 42 + args.seed,
              # the random language model's frozen head bounds its logits near ±1.3, so it could never be confident;
              # its head and final norm train fully here. Kept since the language model is pretrained first (not
              # measured without)
              "--trained_modules", *TRAINED_MODULES, "language_model.norm", "lm_head"]
    print("stage 1 (explicit)")
    run("train", "--config", "stage1_explicit", *common, "--output_dir", work / "stage1", "--max_steps",
        args.stage1_steps, *[x for name, path in parts.items() for x in (f"--{name}", path)])
    print("stage 2 (explicit → implicit)")
    run("train", "--config", "stage2_implicit", *common, "--output_dir", work / "stage2", "--max_steps",
        args.stage2_steps, "--model_name_or_path", work / "stage1" / "model")
    training_minutes = (time.perf_counter() - started) / 60

    for stage in ("stage1", "stage2"):
        print(f"learning curve, {stage}: step  loss  P(explicit)  explicit share")
        for entry in curve(work / stage):
            print(f"  {entry['step']:5d}  {entry['loss']:.3f}  {entry['cot/explicit_probability']:.2f}  "
                  f"{entry['cot/explicit_fraction']:.2f}")

    evaluate_held_out(work)
    print(f"total {(time.perf_counter() - started) / 60:.1f} min (data and training {training_minutes:.1f} min)")


def evaluate_held_out(work: Path):
    """`c2ser-hf evaluate` on the held-out set (greedy answers parsed to a label), then the explicit answers' levels."""
    for stage, mode, tokens in (("stage1", "explicit", 120), ("stage2", "implicit", 16), ("stage2", "explicit", 120)):
        out = work / f"evaluate_{stage}_{mode}"
        run("evaluate", "--model", work / stage / "model", "--dataset", f"{work / 'test_data'}:all", "--split", "test",
            "--mode", mode, "--decoding", "greedy", "--max-new-tokens", tokens, "--batch-size", 16, "--out", out,
            "--overwrite")
        entry = json.loads((out / "results.json").read_text())["results"][0]
        metrics = entry["metrics"]
        languages = ", ".join(f"{language} WA {values['wa']:.1%}" for language, values in entry["by_language"].items())
        print(f"{stage} {mode} answers on {entry['clips']} held-out clips: WA {metrics['wa']:.1%}, "
              f"UA {metrics['ua']:.1%}, macro-F1 {metrics['macro_f1']:.1%}, "
              f"unparseable {metrics['unparseable_rate']:.1%} ({languages}; chance 14.3%)")
        if mode == "explicit":
            print(f"  explicit answers stating all three levels of their clip: {stated_levels(work, out)}")


def stated_levels(work: Path, out: Path) -> str:
    import datasets

    from c2ser_hf.cot.build import LEVEL_COLUMNS
    from c2ser_hf.cot.descriptions import stated_levels as levels_in

    rows = {row["id"]: row for row in datasets.load_dataset(str(work / "test_cot"), split="test")
            .remove_columns("audio")}
    answers = [json.loads(line) for line in next(out.rglob("predictions.jsonl")).read_text().splitlines()]
    stated = right = 0
    for answer in answers:
        row = rows[answer["id"]]
        found = levels_in(answer.get("text") or "", row["target_language"])
        levels = {attribute: row[column] for attribute, column in LEVEL_COLUMNS.items() if row[column] is not None}
        stated += all(found[attribute] for attribute in levels)
        right += all(found[attribute] == {level} for attribute, level in levels.items())
    return (f"{right}/{len(answers)} (a level for all three: {stated}/{len(answers)}), "
            f"e.g. {answers[0].get('text', '')[:160]!r}")


if __name__ == "__main__":
    main()
