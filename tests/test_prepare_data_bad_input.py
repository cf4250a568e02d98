"""Bad source rows stop the build naming the row (or, with skip_bad, are skipped and reported); nothing half-written."""

import json

import pytest

from c2ser_hf.cli import main
from c2ser_hf.prepare_data import prepare_data
from c2ser_hf.datasets_scripts.corpora import CORPORA
from c2ser_hf.datasets_scripts.schema import CorpusLayoutError

from corpus_trees import emo_emilia, emobox, load, wav


def _spoil(source, number, **changes):
    """Change row `number` (0-based) of the Emo-Emilia jsonl; return its line reference."""
    path = source / "EMO-Emilia-ALL.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[number].update(changes)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return f"{path}:{number + 1}"


def _bad_label(source):
    return _spoil(source, 3, emotion="bored"), r"label 'bored' is not in the label map"


def _missing_wav(source):
    return _spoil(source, 4, wav="wavs/nowhere.wav"), r"audio file .*nowhere\.wav does not exist"


def _duplicate_id(source):
    return _spoil(source, 5, index="ZH_B00000_S00010_W000000"), r"duplicate id 'ZH_B00000_S00010_W000000' \(first at "


def _unreadable_audio(source):
    (source / "wavs" / "ZH_B00006_S00010_W000006.wav").write_bytes(b"RIFF but not really audio" * 4)
    return f"{source / 'EMO-Emilia-ALL.jsonl'}:7", r"audio file .*W000006\.wav could not be decoded \(RuntimeError: Could not open input file"


def _null_wav(source):
    return _spoil(source, 2, wav=None), r"`wav` is null, not an audio file path"


def _list_wav(source):
    return _spoil(source, 8, wav=["wavs/a.wav", "wavs/b.wav"]), r'`wav` is \["wavs/a.wav", "wavs/b.wav"\], not an audio'


def _number_wav(source):
    return _spoil(source, 9, wav=17), r"`wav` is 17, not an audio file path"


@pytest.mark.parametrize("spoil", [_bad_label, _missing_wav, _duplicate_id, _unreadable_audio, _null_wav, _list_wav,
                                   _number_wav])
def test_bad_row_stops_the_build_naming_it(tmp_path, spoil):
    source = emo_emilia(tmp_path / "Emo-Emilia")
    line, reason = spoil(source)
    with pytest.raises(CorpusLayoutError, match=f"^{line}: {reason}"):
        prepare_data("emo-emilia", source, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Emo-Emilia"]  # no output, no staging folder left

    report = prepare_data("emo-emilia", source, tmp_path / "out", skip_bad=True)
    assert len(report.skipped) == 1 and report.skipped[0].startswith(f"{line}: ")
    assert report.rows["all"]["test"] == 13
    assert load(tmp_path / "out", "all", split="test").num_rows == 13
    assert f"- Bad source rows skipped: 1.\n  - {line}: " in (tmp_path / "out" / "README.md").read_text()


def test_malformed_metadata_names_the_line(tmp_path):
    source = emo_emilia(tmp_path / "Emo-Emilia")
    path = source / "EMO-Emilia-ALL.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:-1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusLayoutError, match=f"^{path}:3: not valid JSON"):
        prepare_data("emo-emilia", source, tmp_path / "out")
    lines[2] = json.dumps({"index": "ZH_1", "emotion": "sad"})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusLayoutError, match=rf"^{path}:3: missing field\(s\) \['wav', 'text'\]"):
        prepare_data("emo-emilia", source, tmp_path / "out", skip_bad=True)


def test_cli_lists_corpora_and_prepares(tmp_path, capsys):
    assert main(["prepare-data", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in listed if not line.startswith(" ")][:len(CORPORA)] == list(CORPORA)
    assert any("EmoBox metadata only" in line for line in listed if line.startswith("biic-podcast"))

    source = emo_emilia(tmp_path / "Emo-Emilia")
    out = tmp_path / "out"
    assert main(["prepare-data", "emo-emilia", "--source", str(source), "--out", str(out), "--config", "en",
                 "--num-proc", "2"]) == 0
    assert "en: test 7" in capsys.readouterr().out
    assert load(out, "en", split="test").num_rows == 7
    assert main(["prepare-data", "emo-emilia", "--source", str(source), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["prepare-data", "iemocap", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "nowhere: source folder does not exist" in capsys.readouterr().err


def test_emobox_wav_that_is_no_path_names_its_line_and_is_skippable(tmp_path, capsys):
    rows = [(f"casia-{n}-wangzhe-{emo}", f"wangzhe/{emo}/{n}.wav", emo) for n, emo in enumerate(("angry", "sad", "happy"))]
    source = emobox(tmp_path / "EmoBox", "casia", rows, {})
    metadata = source / "casia.jsonl"
    records = [json.loads(line) for line in metadata.read_text().splitlines()]
    records[1]["wav"] = 3.5
    metadata.write_text("".join(json.dumps(record) + "\n" for record in records))
    argv = ["prepare-data", "casia", "--source", str(source), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"c2ser-hf prepare-data: error: {metadata}:2: `wav` is 3.5, not an audio file path (--skip-bad skips such rows)"
    assert not (tmp_path / "out").exists()
    assert main(argv + ["--skip-bad"]) == 0
    assert f"skipped: {metadata}:2: `wav` is 3.5" in capsys.readouterr().out
    assert load(tmp_path / "out", split="train")["id"] == ["casia-0-wangzhe-angry", "casia-2-wangzhe-happy"]


def test_a_stray_file_in_a_named_files_corpus_is_skippable(tmp_path):
    for name in ("liuchang/angry/201.wav", "wangzhe/happy/202.wav", "wangzhe/happy/take2/203.wav"):
        wav(tmp_path / "CASIA" / name)
    stray = tmp_path / "CASIA" / "wangzhe" / "happy" / "take2" / "203.wav"
    with pytest.raises(CorpusLayoutError, match=rf"^{stray}: not named as casia files are .*skip_bad=True skips"):
        prepare_data("casia", tmp_path / "CASIA", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    report = prepare_data("casia", tmp_path / "CASIA", tmp_path / "out", skip_bad=True)
    assert report.skipped == [f"{stray}: not named as casia files are (<speaker>/<emotion>/<number>.wav)"]
    assert report.rows["all"]["test"] == 2
