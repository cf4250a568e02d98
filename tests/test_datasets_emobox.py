"""EmoBox metadata as a layout: folds become configs, each clip is stored once, label maps apply, 20 s filter."""

import pytest

from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.datasets_scripts.schema import CorpusLayoutError

from corpus_trees import emobox, load, wav, write_jsonl


def test_emov_db_metadata_maps_amused_and_excludes_sleepy(tmp_path):
    rows = [(f"emovdb-{spk}-{emo}-{n:04d}", f"{spk}_{emo}/{emo.lower()}_1-15_{n:04d}.wav", emo)
            for spk in ("bea", "sam") for n, emo in enumerate(("Amused", "Angry", "Disgust", "Neutral", "Sleepy"))]
    keys = [key for key, _, _ in rows]
    source = emobox(tmp_path / "EmoBox", "emovdb", rows, {1: {"train": keys[:5], "test": keys[5:]}})
    report = prepare_data("emov-db", source, tmp_path / "out")
    assert report.layout == "EmoBox metadata" and report.excluded == {"Sleepy": 2}
    dataset = load(tmp_path / "out", "fold_1")
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 4, "test": 4}
    test = dataset["test"]
    names = test.features["emotion"].names
    assert sorted(zip(test["original_label"], (names[e] for e in test["emotion"]))) == [
        ("Amused", "happiness"), ("Angry", "anger"), ("Disgust", "disgust"), ("Neutral", "neutral")]
    assert set(test["id"]) == set(keys[5:9])
    samples = test[0]["audio"].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape == (1, 4800)
    assert "| `Sleepy` | excluded (no canonical class) | 2 |" in (tmp_path / "out" / "README.md").read_text()


def test_leave_one_session_out_folds_store_each_clip_once(tmp_path):
    # a corpus EmoBox knows but this package has no map for: its label_map.json names EmoBox's categories
    rows = [(f"corpus-s{session}-{n}", f"session{session}/{n}.wav", label)
            for session in (1, 2, 3) for n, label in enumerate(("ANG", "HAP", "BOR"))]
    folds = {}
    for fold in (1, 2, 3):
        test = [key for key, _, _ in rows if f"-s{fold}-" in key]
        folds[fold] = {"train": [key for key, _, _ in rows if key not in test], "test": test}
    label_map = {"ANG": "Angry", "HAP": "Happy", "BOR": "Boredom"}
    source = emobox(tmp_path / "EmoBox", "corpus", rows, folds, label_map)
    report = prepare_data("emobox", source, tmp_path / "out", num_proc=2)
    assert report.rows == {f"fold_{k}": {"train": 4, "test": 2} for k in (1, 2, 3)}
    assert report.excluded == {"BOR": 3}
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == [
        f"fold_{k}-test-00000-of-00001.parquet" for k in (1, 2, 3)]
    for fold in (1, 2, 3):
        dataset = load(tmp_path / "out", f"fold_{fold}")
        assert all(f"-s{fold}-" in key for key in dataset["test"]["id"])
        assert not any(f"-s{fold}-" in key for key in dataset["train"]["id"])
        assert sorted(dataset["test"].features["emotion"].int2str(dataset["test"]["emotion"])) == ["anger", "happiness"]


def test_utterances_over_20_s_are_dropped_and_counted(tmp_path):
    rows = [("casia-1-wangzhe-angry", "wangzhe/angry/1.wav", "angry"), ("casia-2-wangzhe-sad", "wangzhe/sad/2.wav", "sad")]
    source = emobox(tmp_path / "EmoBox", "casia", rows, {})
    wav(tmp_path / "EmoBox" / "downloads" / "casia" / "wangzhe" / "sad" / "2.wav", seconds=20.5, rate=8000)
    report = prepare_data("casia", source, tmp_path / "out")
    assert report.too_long == 1 and report.rows == {"default": {"train": 1}}
    assert load(tmp_path / "out", split="train")["id"] == ["casia-1-wangzhe-angry"]
    assert "longer than 20 s (the C2SER paper's filter): 1 dropped" in (tmp_path / "out" / "README.md").read_text()
    kept = prepare_data("casia", source, tmp_path / "all", max_seconds=0)
    assert kept.too_long == 0 and kept.rows == {"default": {"train": 2}}


def test_fold_files_named_otherwise_are_refused(tmp_path):
    source = emobox(tmp_path / "EmoBox", "casia", [("k", "a/b/1.wav", "sad")], {1: {"test": ["k"]}})
    (source / "fold_1" / "casia_test_fold_1.jsonl").rename(source / "fold_1" / "casia_test.jsonl")
    with pytest.raises(CorpusLayoutError, match=r"fold_1/casia_test\.jsonl: not named <dataset>_<split>_fold_<k>"):
        prepare_data("casia", source, tmp_path / "out")


def test_mer_fold_files_with_audio_and_label_fields(tmp_path):
    folder = tmp_path / "EmoBox" / "data" / "mer2023"
    rows = []
    for number, label in enumerate(("angry", "worried", "happy")):
        path = wav(tmp_path / "EmoBox" / "downloads" / "mer2023" / "train" / f"sample_{number:08d}.wav", seed=number)
        rows.append({"key": f"mer2023-sample_{number:08d}", "dataset": "mer2023",
                     "audio": str(path.relative_to(tmp_path / "EmoBox")), "label": label})
    write_jsonl(folder / "fold_1" / "mer2023_train_fold_1.jsonl", rows[:2])
    write_jsonl(folder / "fold_1" / "mer2023_test1_fold_1.jsonl", rows[2:])
    report = prepare_data("mer2024", folder, tmp_path / "out")
    assert report.rows == {"fold_1": {"train": 1, "test1": 1}} and report.excluded == {"worried": 1}


@pytest.mark.parametrize("corpus, labels, label_map, excluded", [
    ("m3ed", ("Anger", "Happy", "Neutral", "Sad", "Surprise", "Disgust", "Fear"), None, {}),
    ("biic-podcast", ("ang", "hap", "neu", "sad", "con"),
     {"ang": "Angry", "hap": "Happy", "neu": "Neutral", "sad": "Sad", "con": "Contempt"}, {"con": 2}),
])
def test_emobox_only_corpora(tmp_path, corpus, labels, label_map, excluded):
    rows = [(f"{corpus}-{n}-{label}", f"clips/{n}_{label}.wav", label) for n in (0, 1) for label in labels]
    keys = [key for key, _, _ in rows]
    half = len(labels)
    source = emobox(tmp_path / "EmoBox", corpus, rows, {1: {"train": keys[:half], "test": keys[half:]}}, label_map)
    report = prepare_data(corpus, source, tmp_path / "out")
    assert report.layout == "EmoBox metadata" and dict(report.excluded) == excluded
    dataset = load(tmp_path / "out", "fold_1")
    kept = half - (1 if excluded else 0)
    assert {split: dataset[split].num_rows for split in dataset} == {"train": kept, "test": kept}
    test = dataset["test"]
    assert set(test["corpus"]) == {corpus}
    assert sorted(test.features["emotion"].int2str(test["emotion"])) == sorted(
        ["anger", "happiness", "neutral", "sadness", "surprise", "disgust", "fear"][:kept] if not excluded
        else ["anger", "happiness", "neutral", "sadness"])
    assert test[0]["audio"].get_all_samples().sample_rate == 16000
