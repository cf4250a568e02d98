"""Emo-Emilia: the official jsonl + wavs -> configs all/zh/en, canonical labels, a card with counts, Hub-ready."""

import re

import huggingface_hub.constants
import pytest
from datasets import Audio

from c2ser_hf.datasets_scripts.schema import CorpusLayoutError
from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.processing.emotion_parsing import EMOTIONS

from corpus_trees import emo_emilia, load
from hub_standin import HubStandIn


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("emo_emilia")
    source = emo_emilia(root / "Emo-Emilia", per_label=2)
    report = prepare_data("emo-emilia", source, root / "out")
    return root / "out", report


@pytest.mark.parametrize("config, languages, rows", [("all", {"zh", "en"}, 28), ("zh", {"zh"}, 14), ("en", {"en"}, 14)])
def test_configs_hold_the_rows_of_their_language(prepared, config, languages, rows):
    out, _ = prepared
    dataset = load(out, config)
    assert list(dataset) == ["test"]
    test = dataset["test"]
    assert test.num_rows == rows
    assert set(test["language"]) == languages
    assert all(row_id.startswith(tuple(f"{language.upper()}_" for language in languages)) for row_id in test["id"])
    # two rows of every canonical emotion per language
    names = test.features["emotion"].names
    assert names == list(EMOTIONS)
    assert sorted(names[e] for e in test["emotion"]) == sorted(list(EMOTIONS) * 2 * len(languages))


def test_labels_are_mapped_and_audio_decodes_at_16_khz(prepared):
    out, report = prepared
    test = load(out, "zh", split="test")
    mapped = {row["original_label"]: test.features["emotion"].int2str(row["emotion"]) for row in
              test.select_columns(["original_label", "emotion"])}
    assert mapped == {"angry": "anger", "happy": "happiness", "fearful": "fear", "surprised": "surprise",
                      "neutral": "neutral", "sad": "sadness", "disgusted": "disgust"}
    row = test[0]
    samples = row["audio"].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape == (1, 4800)  # 0.3 s written at 24 kHz
    assert row["duration"] == pytest.approx(0.3, abs=1e-3)
    assert row["text"].startswith("ZH ") and row["corpus"] == "emo-emilia"
    assert report.rows == {"all": {"test": 28}, "zh": {"test": 14}, "en": {"test": 14}}
    assert report.too_long == 0 and not report.excluded and report.max_seconds is None


def test_card_states_counts_per_label_and_language(prepared):
    out, _ = prepared
    card = (out / "README.md").read_text(encoding="utf-8")
    for emotion in EMOTIONS:
        # | emotion | en | zh | total |
        assert re.search(rf"^\| {emotion} \| 2 \| 2 \| 4 \|$", card, re.MULTILINE), emotion
    assert re.search(r"^\| all \| test \| 28 \| 4 \| 4 \| 4 \| 4 \| 4 \| 4 \| 4 \|$", card, re.MULTILINE)
    assert "| `fearful` | fear |" in card


def test_hub_copy_loads_with_the_local_schema(prepared, tmp_path, monkeypatch):
    out, _ = prepared
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # requests only reach 127.0.0.1
    with HubStandIn(tmp_path / "hub") as hub:
        prepare_data("emo-emilia", out.parent / "Emo-Emilia", tmp_path / "again", push_to_hub="someone/Emo-Emilia",
                     token="hf_test", endpoint=hub.url)
    assert hub.commits and hub.commits[0][0] == "someone/Emo-Emilia"
    published = tmp_path / "hub" / "someone" / "Emo-Emilia"
    for config in ("all", "zh", "en"):
        hub_copy = load(published, config, split="test")
        local = load(out, config, split="test")
        assert hub_copy.features == local.features and hub_copy.num_rows == local.num_rows
        assert hub_copy["id"] == local["id"]


@pytest.mark.parametrize("revision", ["wav", "old"])
def test_the_release_as_cloned_builds_from_its_root_or_its_folder(tmp_path, prepared, revision):
    from corpus_trees import emo_emilia_release

    root = emo_emilia_release(tmp_path / "Emo-Emilia-repo", per_label=2, revision=revision)
    built = {}
    for name, source in (("root", root), ("folder", root / "Emo-Emilia"),
                         ("jsonl", root / "Emo-Emilia" / "Emo-Emilia-ALL.jsonl")):
        prepare_data("emo-emilia", source, tmp_path / name)
        built[name] = load(tmp_path / name, "all", split="test")
    flat = load(prepared[0], "all", split="test")  # the copy whose paths are relative to the jsonl's folder
    columns = ["id", "emotion", "original_label", "language", "duration"]
    for name, dataset in built.items():
        assert dataset.select_columns(columns).to_list() == flat.select_columns(columns).to_list(), name
        assert [row["audio"]["bytes"] for row in dataset.cast_column("audio", Audio(decode=False))] == \
            [row["audio"]["bytes"] for row in built["root"].cast_column("audio", Audio(decode=False))]


def test_a_release_row_whose_audio_is_missing_names_the_release_path(tmp_path):
    from corpus_trees import emo_emilia_release

    root = emo_emilia_release(tmp_path / "repo")
    missing = next((root / "Emo-Emilia" / "wav").iterdir())
    missing.unlink()
    with pytest.raises(CorpusLayoutError, match=f"{missing}"):
        prepare_data("emo-emilia", root, tmp_path / "out")
    with pytest.raises(CorpusLayoutError, match="no Emo-Emilia \\*.jsonl here or in"):
        prepare_data("emo-emilia", tmp_path, tmp_path / "out")
