"""`build-cot` (issue 5): dataset in, dataset out with acoustics, levels and CoT targets; LLM descriptions checked and
replaced by templates when they fail; resumable after a real interruption; statistics reusable on new data."""

import json
import re
import signal
import subprocess
import time

import datasets
import pytest
from transformers import Qwen2Config, Qwen2ForCausalLM

from audio_fixtures import speech, tone
from c2ser_hf.cot import BuildError, CorpusStats, EndpointDescriber, TransformersDescriber, build_cot
from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer
from cli_runner import cli_command, run_cli
from llm_endpoint_standin import LLMEndpointStandIn

UTTERANCES = [
    ("The weather is lovely today.", "happy", "en", 60, 170),
    ("I cannot believe you did that to me.", "angry", "en", 75, 210),
    ("Please, just leave me alone.", "sad", "en", 30, 120),
    ("What a surprise to see you here!", "surprised", "en", 80, 190),
    ("That smell is absolutely revolting.", "disgusted", "en", 40, 150),
    ("I think someone is following us.", "fearful", "en", 55, 230),
    ("今天天气很好。", "happy", "zh", 50, 150),
    ("我不想再说了。", "sad", "zh", 35, 130),
]
ADDED = ["pitch_hz", "loudness_lufs", "speaking_rate", "speech_duration_s", "unmeasured", "pitch_level",
         "loudness_level", "speaking_rate_level", "target_language", "explicit_target", "implicit_target",
         "description_source", "description_problems"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Eight espeak-ng utterances (six English, two Mandarin) as a save_to_disk dataset with a ClassLabel column."""
    folder = tmp_path_factory.mktemp("corpus")
    rows = []
    for i, (text, emotion, language, pitch, speed) in enumerate(UTTERANCES):
        path = folder / f"{i}.wav"
        speech(path, text, pitch=pitch, speed=speed, voice="cmn" if language == "zh" else None)
        rows.append({"audio": str(path), "text": text, "emotion": emotion, "id": f"utt{i}"})
    names = ["angry", "happy", "neutral", "sad", "surprised", "disgusted", "fearful"]
    features = datasets.Features({"audio": datasets.Audio(), "text": datasets.Value("string"),
                                  "emotion": datasets.ClassLabel(names=names), "id": datasets.Value("string")})
    dataset = datasets.Dataset.from_list(rows, features=features)
    dataset.save_to_disk(str(folder / "dataset"))
    return folder / "dataset"


def example_of(prompt):
    """The template description the prompt carries as its example: what a faithful LLM would write."""
    found = re.search(r"Here is an example: '(.*)' Ensure", prompt) or re.search(r"示例：“(.*)”请确保", prompt)
    return found.group(1)


def rows_of(folder):
    return datasets.load_dataset(str(folder))["train"].cast_column("audio", datasets.Audio(decode=False)).to_list()


def test_template_build_loads_with_load_dataset(corpus, tmp_path):
    report = build_cot(str(corpus), tmp_path / "out", shard_size=3, progress=False)
    loaded = datasets.load_dataset(str(tmp_path / "out"))["train"]
    assert loaded.column_names == ["audio", "text", "emotion", "id", *ADDED]
    assert len(loaded) == 8 and loaded["id"] == [f"utt{i}" for i in range(8)]
    assert isinstance(loaded.features["emotion"], datasets.ClassLabel)
    assert all(v is not None for c in ("pitch_hz", "loudness_lufs", "speaking_rate") for v in loaded[c])
    assert loaded["target_language"] == ["en"] * 6 + ["zh"] * 2
    assert loaded["implicit_target"][0] == "The emotion of this speech is happiness."
    assert loaded["implicit_target"][7] == "这条语音的情感为悲伤"
    assert loaded["explicit_target"][6].startswith("说话者以") and "今天天气很好。" in loaded["explicit_target"][6]
    assert report.descriptions["template"] == 8
    stats = CorpusStats.load(tmp_path / "out" / "stats.json")
    for column, attribute in (("pitch_level", "pitch_hz"), ("speaking_rate_level", "speaking_rate")):
        assert loaded[column] == [stats.attributes[attribute].level(v) for v in loaded[attribute]]
    assert set(loaded["pitch_level"]) >= {"Low", "High"}  # espeak pitch 30..80 spans the corpus
    # the audio is embedded: the dataset no longer needs the source files
    decoded = loaded[0]["audio"].get_all_samples()
    assert decoded.data.shape[1] > 16000 and not (tmp_path / "out.work").exists()
    card = (tmp_path / "out" / "README.md").read_text()
    assert "template 8" in card and "| train | 8 |" in card


def test_multi_process_build_equals_single_process(corpus, tmp_path):
    build_cot(str(corpus), tmp_path / "one", shard_size=2, num_proc=1, progress=False)
    build_cot(str(corpus), tmp_path / "two", shard_size=2, num_proc=2, progress=False)
    assert rows_of(tmp_path / "one") == rows_of(tmp_path / "two")


def tiny_llm(folder):
    tokenizer = build_tiny_qwen2_tokenizer()
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_tiny_random_llm_fails_and_templates_replace_it(corpus, tmp_path):
    describer = TransformersDescriber(str(tiny_llm(tmp_path / "llm")), batch_size=4, max_new_tokens=12, device="cpu")
    report = build_cot(str(corpus), tmp_path / "out", describer=describer, retries=1, shard_size=4, progress=False)
    assert dict(report.descriptions) == {"template": 8}
    loaded = datasets.load_dataset(str(tmp_path / "out"))["train"]
    assert set(loaded["description_source"]) == {"template"}
    assert all(problem for problem in loaded["description_problems"])  # each says why the LLM text was refused
    template = build_cot(str(corpus), tmp_path / "plain", shard_size=4, progress=False)
    assert loaded["explicit_target"] == datasets.load_dataset(str(tmp_path / "plain"))["train"]["explicit_target"]
    assert template.descriptions["template"] == 8
    assert json.loads((tmp_path / "out" / "build_report.json").read_text())["descriptions"] == {
        "llm": 0, "llm_retry": 0, "template": 8}


def scripted_llm(prompt, temperature):
    """Faithful except: the 'lovely' utterance always contradicts its levels; the 'believe' one at first names the
    wrong emotion and is right when resampled."""
    example = example_of(prompt)
    if "lovely" in prompt:
        return example.replace("pace", "pace (very fast)").replace("happiness", "sadness")
    if "believe" in prompt and temperature == 0:
        return example.replace("anger", "fear")
    return example + " The voice leaves little doubt."


def test_endpoint_descriptions_retries_and_fallbacks_are_counted(corpus, tmp_path):
    server = LLMEndpointStandIn(scripted_llm)
    try:
        run = run_cli("build-cot", "--dataset", corpus, "--out", tmp_path / "out", "--llm-endpoint", server.url, "--retries", 2,
                      "--shard-size", 3)
    finally:
        server.close()
    assert run.returncode == 0, run.stderr
    assert 'descriptions: {"llm": 6, "llm_retry": 1, "template": 1}' in run.stdout
    loaded = datasets.load_dataset(str(tmp_path / "out"))["train"]
    assert loaded["description_source"] == ["template", "llm_retry", "llm", "llm", "llm", "llm", "llm", "llm"]
    assert loaded["explicit_target"][2].endswith("The voice leaves little doubt.")
    assert "concludes 'sadness', not 'happiness'" in loaded["description_problems"][0]
    # 8 first tries, 2 retries of the two failing ones, 1 last retry of the one that keeps failing
    assert len(server.requests) == 11


def test_interrupted_build_resumes_to_the_same_dataset(corpus, tmp_path):
    server = LLMEndpointStandIn(scripted_llm)
    try:
        reference = build_cot(str(corpus), tmp_path / "reference", describer=EndpointDescriber(server.url),
                              shard_size=2, progress=False)
        # Answer the first description shard (utt0 and utt1: 2 first tries, 2 retries, 1 last retry), hold the
        # second one's requests, and kill the build there.
        server.requests.clear()
        server.hold_after = 5
        process = subprocess.Popen(
            cli_command("build-cot", "--dataset", corpus, "--out", tmp_path / "out", "--llm-endpoint", server.url,
                        "--shard-size", 2),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        work = tmp_path / "out.work"
        deadline = time.monotonic() + 120
        while len(server.requests) <= 5 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert len(server.requests) > 5, process.communicate()[1].decode()
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished = {str(p.relative_to(work)): p.stat().st_mtime_ns for p in work.rglob("*.parquet")}
        assert not (tmp_path / "out").exists()
        assert sorted(finished) == [f"acoustics/train-0000{i}.parquet" for i in range(4)] + [
            "descriptions/train-00000.parquet"]
        assert not [p for p in work.rglob("*") if p.name.endswith(".tmp")]
        server.release()
        run = run_cli("build-cot", "--dataset", corpus, "--out", tmp_path / "out", "--llm-endpoint", server.url, "--shard-size", 2)
    finally:
        server.close()
    assert run.returncode == 0, run.stderr
    assert "(3 shards computed, 5 reused from an earlier run)" in run.stdout
    assert rows_of(tmp_path / "out") == rows_of(tmp_path / "reference")
    print(f"resumed: {len(finished)} finished shards kept, 3 computed; rows equal the uninterrupted build's")
    assert reference.descriptions == {"llm": 6, "llm_retry": 1, "template": 1}
    assert not work.exists()


def test_statistics_from_a_training_corpus_describe_new_data(corpus, tmp_path):
    build_cot(str(corpus), tmp_path / "train", shard_size=4, progress=False)
    new = datasets.load_from_disk(str(corpus)).select([0, 2])
    build_cot(new, tmp_path / "new", stats=tmp_path / "train" / "stats.json", progress=False)
    trained = datasets.load_dataset(str(tmp_path / "train"))["train"].select([0, 2])
    described = datasets.load_dataset(str(tmp_path / "new"))["train"]
    for column in ("pitch_level", "loudness_level", "speaking_rate_level", "explicit_target"):
        assert described[column] == trained[column]
    assert (tmp_path / "new" / "stats.json").read_text() == (tmp_path / "train" / "stats.json").read_text()


def test_unreadable_audio_is_reported_per_row_and_the_build_goes_on(corpus, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    quiet = tone(tmp_path / "quiet.wav", seconds=1.0)
    rows = [{"audio": str(broken), "text": "Hello there.", "emotion": "neutral"},
            {"audio": str(quiet), "text": "", "emotion": "calm"},
            {"audio": str(corpus.parent / "0.wav"), "text": "The weather is lovely today.", "emotion": "joy"}]
    dataset = datasets.Dataset.from_list(rows).cast_column("audio", datasets.Audio())
    report = build_cot(dataset, tmp_path / "out", progress=False)
    loaded = datasets.load_dataset(str(tmp_path / "out"))["train"]
    assert loaded["pitch_hz"][0] is None and "audio could not be decoded" in json.loads(loaded["unmeasured"][0])["pitch_hz"]
    assert json.loads(loaded["unmeasured"][1]) == {"speaking_rate": "no transcript"}
    assert loaded["speaking_rate"][2] is not None
    assert report.unmeasured["speaking_rate: no transcript"] == 1
    assert report.unmeasured["pitch_hz: audio could not be decoded"] == 1
    assert loaded["implicit_target"] == ["The emotion of this speech is neutral."] * 2 + [
        "The emotion of this speech is happiness."]


def test_bad_inputs_name_the_row_or_column(corpus, tmp_path):
    dataset = datasets.load_from_disk(str(corpus))
    with pytest.raises(BuildError, match="lacks column\\(s\\) text; it has audio, emotion, id"):
        build_cot(dataset.remove_columns("text"), tmp_path / "a", progress=False)
    names = dataset.features["emotion"].names
    relabelled = dataset.map(lambda row, i: {"label": "bored" if i == 5 else names[row["emotion"]]},
                             with_indices=True).remove_columns("emotion").rename_column("label", "emotion")
    with pytest.raises(BuildError, match=r"split 'train' row 5 \(id 'utt5'\): emotion 'bored' is not one of"):
        build_cot(relabelled, tmp_path / "b", progress=False)
    french = dataset.add_column("language", ["en"] * 7 + ["fr"])
    with pytest.raises(BuildError, match=r"row 7 \(id 'utt7'\): language 'fr' is not supported"):
        build_cot(french, tmp_path / "c", progress=False)
    build_cot(dataset.select([0, 1]), tmp_path / "d", progress=False)
    with pytest.raises(FileExistsError, match="output folder already exists"):
        build_cot(dataset.select([0, 1]), tmp_path / "d", progress=False)
    (tmp_path / "e.work").mkdir()
    (tmp_path / "e.work" / "job.json").write_text(json.dumps({"shard_size": 1}))
    with pytest.raises(BuildError, match="e.work holds an interrupted build of a different job"):
        build_cot(dataset.select([0, 1]), tmp_path / "e", progress=False)
    run = run_cli("build-cot", "--dataset", tmp_path / "missing", "--out", tmp_path / "f")
    assert run.returncode != 0 and "missing" in run.stderr


def test_a_prepared_corpus_goes_straight_into_build_cot(tmp_path):
    from c2ser_hf.prepare_data import prepare_data
    from corpus_trees import emo_emilia

    prepare_data("emo-emilia", emo_emilia(tmp_path / "Emo-Emilia"), tmp_path / "emo-emilia")
    run = run_cli("build-cot", "--dataset", tmp_path / "emo-emilia", "--config", "all", "--out", tmp_path / "cot")
    assert run.returncode == 0, run.stderr
    loaded = datasets.load_dataset(str(tmp_path / "cot"))["test"]
    assert len(loaded) == 14 and loaded["target_language"] == loaded["language"]
    names = loaded.features["emotion"].names
    assert [t.split("为")[-1] if t.startswith("这") else t for t in loaded["implicit_target"]][:2] == [
        {"anger": "生气", "happiness": "高兴"}.get(names[e], names[e]) for e in loaded["emotion"][:2]]
    chinese = run_cli("build-cot", "--dataset", tmp_path / "emo-emilia", "--config", "zh", "--out", tmp_path / "zh")
    assert chinese.returncode == 0, chinese.stderr
    zh = datasets.load_dataset(str(tmp_path / "zh"))["test"]
    assert len(zh) == 7 and set(zh["target_language"]) == {"zh"}
    assert all(t.startswith("说话者") for t in zh["explicit_target"])
