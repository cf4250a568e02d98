"""c2ser_hf/dataset_io.py: every way a dataset cannot be opened is one line naming it (never a Hub request for a path,
never a traceback from datasets), a row's audio decodes through the package's audio path whatever form it takes, and
unreadable rows are left out by name up to a share, past which the run stops naming them."""

import json
import logging
import os

import datasets
import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import tone
from c2ser_hf.cli import main
from c2ser_hf.dataset_io import (
    DatasetInputError, audio_header, decode_audio, decode_samples, lazy_audio, open_dataset, readable_rows,
)
from c2ser_hf.processing.audio_input import AudioInputError, to_mono_16k
from cli_runner import run_cli


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A save_to_disk dataset of 40 numpy tones (22.05 kHz WAV files, ids c00..c39), and the file paths."""
    root = tmp_path_factory.mktemp("dataset-io")
    paths = [tone(root / f"c{i:02d}.wav", seconds=0.3 + 0.01 * i, rate=22050, freq=150 + 10 * i, seed=i)
             for i in range(40)]
    rows = {"audio": [str(p) for p in paths], "id": [f"c{i:02d}" for i in range(40)], "emotion": ["neutral"] * 40}
    data = datasets.Dataset.from_dict(rows).cast_column("audio", datasets.Audio())
    data.save_to_disk(str(root / "saved"))
    return root, paths


def with_broken_rows(root, paths, broken: set[int], name: str):
    """The corpus with the audio bytes of rows `broken` replaced by text, saved as `name`."""
    rows = [{"audio": {"bytes": b"not audio at all" if i in broken else p.read_bytes(), "path": None},
             "id": f"c{i:02d}"} for i, p in enumerate(paths)]
    features = datasets.Features({"audio": datasets.Audio(), "id": datasets.Value("string")})
    datasets.Dataset.from_list(rows, features=features).save_to_disk(str(root / name))
    return str(root / name)


def test_paths_that_do_not_exist_never_go_to_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source in ("data/corpus/missing", "./missing", str(tmp_path / "missing"), "~/missing-c2ser-corpus"):
        with pytest.raises(DatasetInputError, match="no such folder"):
            open_dataset(source)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetInputError, match=r"^dataset someone/corpus: no such local folder, .*HF_HUB_OFFLINE"):
        open_dataset("someone/corpus")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetInputError, match="is a file, not a dataset folder"):
        open_dataset("file.txt")


def test_broken_save_to_disk_folders_are_one_line(corpus, tmp_path):
    root, _ = corpus
    cases = {
        "dataset_dict.json": ("{not json", "dataset_dict.json is not valid JSON"),
        "state.json": ("[]", "state.json holds a list, not a dict"),
    }
    for name, (content, message) in cases.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_text(content)
        with pytest.raises(DatasetInputError, match=message) as raised:
            open_dataset(folder)
        assert str(raised.value).startswith(f"dataset {folder}: ") and "\n" not in str(raised.value)
    with pytest.raises(DatasetInputError, match="a save_to_disk folder has no configs"):
        open_dataset(root / "saved", config="../../escaped")
    # a saved Dataset has no split name: it takes the one asked for; a saved DatasetDict names its own
    assert list(open_dataset(root / "saved", split="test")) == ["test"]
    datasets.DatasetDict({"train": open_dataset(root / "saved")["train"]}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(DatasetInputError, match=r"no split 'test' \(it has train\)"):
        open_dataset(tmp_path / "dict", split="test")


def test_save_to_disk_folder_and_objects_open_whole_or_streamed(corpus):
    root, _ = corpus
    whole = open_dataset(root / "saved")
    assert list(whole) == ["train"] and len(whole["train"]) == 40
    streamed = open_dataset(root / "saved", split="train", streaming=True)
    assert isinstance(streamed["train"], datasets.IterableDataset)
    assert [row["id"] for row in streamed["train"]] == whole["train"]["id"]
    assert open_dataset(whole["train"], split="dev")["dev"] is whole["train"]


def test_every_audio_value_form_decodes_to_what_the_file_gives(corpus):
    root, paths = corpus
    expected = to_mono_16k(paths[3])
    decoded = open_dataset(root / "saved")["train"][3]["audio"]  # a torchcodec decoder
    lazy, feature = lazy_audio(open_dataset(root / "saved")["train"])
    undecoded = lazy[3]["audio"]
    samples, rate = sf.read(paths[3], dtype="float32")
    forms = {"decoder": (decoded, None), "undecoded": (undecoded, feature), "path": (str(paths[3]), None),
             "array": ({"array": samples, "sampling_rate": rate}, None)}
    for form, (value, column) in forms.items():
        waveform = decode_audio(value, f"row 3 ({form})", column)
        diff = float(np.abs(waveform - expected).max())
        print(f"{form}: max abs diff {diff:.2e} against the file through the package's audio path")
        assert waveform.shape == expected.shape and diff < 1e-4, form
    assert audio_header(undecoded, feature).sample_rate == 22050 and decode_samples(undecoded, "r", feature)[1] == 22050


def test_an_undecodable_value_is_named(corpus):
    with pytest.raises(AudioInputError, match=r"^row 'x': could not be decoded as audio \("):
        decode_audio({"bytes": b"not audio at all", "path": None}, "row 'x'")
    assert audio_header({"bytes": b"not audio at all", "path": None}) is None


def test_one_unreadable_row_in_40_is_left_out_by_name_ten_stop_the_run(corpus, caplog):
    root, paths = corpus
    one = open_dataset(with_broken_rows(root, paths, {17}, "one-broken"))["train"]
    with caplog.at_level(logging.WARNING):
        kept, skipped = readable_rows(one, "one-broken")
    assert skipped == ["row 17 (id 'c17')"] and len(kept) == 39 and "c17" not in kept["id"]
    assert "dataset one-broken: left out row 17 (id 'c17'): could not be decoded as audio" in caplog.text
    ten = open_dataset(with_broken_rows(root, paths, set(range(0, 40, 4)), "ten-broken"))["train"]
    with pytest.raises(DatasetInputError, match=r"10 of 40 rows have audio that cannot be decoded, more than 1%: "
                                                r"row 0 \(id 'c00'\), row 4 \(id 'c04'\)"):
        readable_rows(ten, "ten-broken")
    assert len(readable_rows(ten, "ten-broken", max_bad_fraction=0.25)[0]) == 30


def test_commands_name_a_dataset_they_cannot_open_in_one_line(corpus, tmp_path, capsys, monkeypatch):
    root, _ = corpus
    assert main(["new", "--out", str(tmp_path / "tiny")]) == 0
    capsys.readouterr()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset_dict.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    for command in (["evaluate", "--out", "results"], ["predict", "--out", "labels"]):
        for source, message in (("data/corpora/missing", "dataset data/corpora/missing: no such folder"),
                                ("broken", "dataset broken: dataset_dict.json is not valid JSON")):
            assert main([*command, "--model", str(tmp_path / "tiny"), "--dataset", source]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and message in err[0], (command, source, err)
    result = run_cli("evaluate", "--model", tmp_path / "tiny", "--dataset", "data/corpora/missing", "--out", "r",
                     cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    print(f"evaluate on a missing relative path: exit {result.returncode} in {result.seconds:.2f} s")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert json.dumps(result.stderr.strip().splitlines()[-1]).count("no such folder") == 1
