"""Native layouts of the training and benchmark corpora, each from a miniature tree named like the real one."""

import pytest

from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.datasets_scripts.schema import CorpusLayoutError

from corpus_trees import esd, iemocap, load, meld, wav


def _labels(split):
    return sorted(split.features["emotion"].int2str(split["emotion"]))


def test_iemocap_merges_excited_into_happiness_with_session_folds(tmp_path):
    report = prepare_data("iemocap", iemocap(tmp_path / "src"), tmp_path / "out", num_proc=2)
    assert report.excluded == {"fru": 5}
    assert report.rows["all"] == {"train": 15}
    assert report.rows["fold_3"] == {"train": 12, "test": 3}
    fold = load(tmp_path / "out", "fold_3")
    assert all(i.startswith("Ses03") for i in fold["test"]["id"]) and not any(
        i.startswith("Ses03") for i in fold["train"]["id"])
    test = fold["test"]
    assert _labels(test) == ["anger", "happiness", "neutral"]
    row = test[test["original_label"].index("exc")]
    assert row["id"] == "Ses03F_impro01_M000" and row["speaker"] == "Ses03M" and row["text"] == "Words number 1."
    assert row["audio"].get_all_samples().sample_rate == 16000
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == [
        f"Session{n}-00000-of-00001.parquet" for n in range(1, 6)]


def test_iemocap_bad_evaluation_line_is_named(tmp_path):
    source = iemocap(tmp_path / "src")
    path = source / "IEMOCAP_full_release" / "Session2" / "dialog" / "EmoEvaluation" / "Ses02F_impro01.txt"
    lines = path.read_text().splitlines()
    lines[6] = "[1.0100 - 1.9000] Ses02F_impro01_M000 exc"
    path.write_text("\n".join(lines))
    with pytest.raises(CorpusLayoutError, match=f"^{path}:7: not a"):
        prepare_data("iemocap", source, tmp_path / "out")


def test_meld_official_splits_from_csv_and_mp4_clips(tmp_path):
    report = prepare_data("meld", meld(tmp_path / "src"), tmp_path / "out")
    assert report.rows == {"default": {"train": 3, "validation": 1, "test": 3}}
    dataset = load(tmp_path / "out")
    assert _labels(dataset["train"]) == ["anger", "happiness", "neutral"]
    assert _labels(dataset["test"]) == ["disgust", "fear", "surprise"]
    clip = dataset["test"][dataset["test"]["id"].index("test_dia0_utt0")]  # decoded from the mp4's AAC stream
    samples = clip["audio"].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape[0] == 1
    assert clip["duration"] == pytest.approx(0.3, abs=0.05)
    assert clip["text"] == "Oh, line 0!" and clip["speaker"] == "Chandler"


def test_esd_held_out_and_official_splits(tmp_path):
    report = prepare_data("esd", esd(tmp_path / "src"), tmp_path / "out")
    # 2 speakers x 5 emotions x 10: c2ser holds out 1 of each 10; official: positions 1-20 evaluation, 21-50 test
    assert report.rows == {"c2ser": {"train": 90, "test": 10},
                           "official": {"train": 80, "validation": 10, "test": 10}}
    c2ser = load(tmp_path / "out", "c2ser")
    test = c2ser["test"]
    assert _labels(test) == sorted(["neutral", "anger", "happiness", "sadness", "surprise"] * 2)
    assert sorted(test["language"]) == ["en"] * 5 + ["zh"] * 5
    assert not set(test["id"]) & set(c2ser["train"]["id"])
    official = load(tmp_path / "out", "official")
    assert sorted(official["validation"]["id"])[:4] == ["0001_000001", "0001_000351", "0001_000701", "0001_001051"]
    assert test[0]["text"].startswith("Sentence ")
    prepare_data("esd", tmp_path / "src", tmp_path / "again")
    assert load(tmp_path / "again", "c2ser", split="test")["id"] == test["id"]  # the draw is reproducible


def test_esd_release_with_split_folders(tmp_path):
    for split, index in (("train", 351), ("evaluation", 352), ("test", 353)):
        wav(tmp_path / "src" / "Emotion Speech Dataset" / "0015" / "Angry" / split / f"0015_{index:06d}.wav")
    report = prepare_data("esd", tmp_path / "src", tmp_path / "out", configs=["official"])
    assert report.rows == {"official": {"train": 1, "validation": 1, "test": 1}}
    assert load(tmp_path / "out", "official", split="validation")["id"] == ["0015_000352"]


@pytest.mark.parametrize("corpus, files, labels, excluded, folds", [
    ("casia", ["liuchang/angry/201.wav", "liuchang/fear/202.wav", "wangzhe/happy/201.wav", "wangzhe/surprise/203.wav"],
     ["anger", "fear", "happiness", "surprise"], {}, 2),
    ("emov-db", ["bea_Amused/amused_1-15_0001.wav", "bea_Sleepy/sleepy_1-15_0001.wav",
                 "sam_Disgusted/disgusted_1-28_0002.wav", "sam_Angry/anger_1-28_0002.wav"],
     ["anger", "disgust", "happiness"], {"Sleepy": 1}, 2),
    ("emovo", ["f1/gio-f1-b1.wav", "f1/pau-f1-l2.wav", "m2/rab-m2-n1.wav", "m2/tri-m2-d2.wav", "m3/sor-m3-b3.wav"],
     ["anger", "fear", "happiness", "sadness", "surprise"], {}, 3),
    ("mesd", ["Mexican Emotional Speech Database (MESD)/Anger_F_A_tarde.wav",
              "Mexican Emotional Speech Database (MESD)/Disgust_C_B_cosa_rara.wav"], ["anger", "disgust"], {}, 0),
    ("asvp-esd", ["Audio/actor_36/03-01-05-01-06-36-02-02-01-39.wav", "Audio/actor_36/03-01-01-01-06-36-02-02-01-40.wav",
                  "Audio/actor_40/03-01-08-02-03-40-01-03-02.wav"], ["anger", "surprise"], {"01": 1}, 2),
])
def test_corpora_named_by_their_files(tmp_path, corpus, files, labels, excluded, folds):
    for number, name in enumerate(files):
        wav(tmp_path / "src" / name, rate=(16000, 48000, 44100)[number % 3], channels=1 + number % 2, seed=number)
    report = prepare_data(corpus, tmp_path / "src", tmp_path / "out")
    assert report.excluded == excluded
    assert sorted(report.rows) == ["all"] + [f"fold_{k}" for k in range(1, folds + 1)]
    test = load(tmp_path / "out", "all", split="test")
    assert _labels(test) == labels
    samples = test[0]["audio"].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape == (1, 4800)
    if folds:
        fold = load(tmp_path / "out", "fold_1")
        assert len({*fold["test"]["speaker"]}) == 1 and fold["test"]["speaker"][0] not in fold["train"]["speaker"]


def test_details_read_from_file_names(tmp_path):
    wav(tmp_path / "mesd" / "Sadness_M_B_cosa_rara.wav")
    wav(tmp_path / "asvp" / "actor_40" / "03-01-04-02-03-40-01-03-02.wav")
    prepare_data("mesd", tmp_path / "mesd", tmp_path / "m")
    assert load(tmp_path / "m", split="test")["text"] == ["cosa rara"]
    prepare_data("asvp-esd", tmp_path / "asvp", tmp_path / "a")
    row = load(tmp_path / "a", split="test")[0]
    assert (row["language"], row["speaker"], row["original_label"]) == ("en", "40", "04")


def test_file_named_otherwise_is_refused(tmp_path):
    wav(tmp_path / "src" / "f1" / "gioia_f1.wav")
    with pytest.raises(CorpusLayoutError, match=r"gioia_f1\.wav: not named as emovo files are"):
        prepare_data("emovo", tmp_path / "src", tmp_path / "out")


def test_msp_podcast_consensus_labels_and_partitions(tmp_path):
    lines = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    for number, (label, split) in enumerate((("A", "Train"), ("C", "Train"), ("H", "Development"), ("N", "Test1"),
                                              ("X", "Test1"), ("F", "Test2"))):
        name = f"MSP-PODCAST_0001_{number:04d}.wav"
        wav(tmp_path / "src" / "Audios" / name, seed=number)
        lines.append(f"{name},{label},4.0,3.0,4.2,{10 + number},Female,{split}")
    (tmp_path / "src" / "Labels").mkdir()
    (tmp_path / "src" / "Labels" / "labels_consensus.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "src" / "Transcripts").mkdir()
    (tmp_path / "src" / "Transcripts" / "MSP-PODCAST_0001_0003.txt").write_text("you know what\n")
    report = prepare_data("msp-podcast", tmp_path / "src", tmp_path / "out")
    assert report.rows == {"default": {"train": 1, "validation": 1, "test1": 1, "test2": 1}}
    assert report.excluded == {"C": 1, "X": 1}
    dataset = load(tmp_path / "out")
    assert _labels(dataset["test2"]) == ["fear"] and dataset["test1"][0]["text"] == "you know what"
    assert dataset["validation"][0]["speaker"] == "12"
