"""push uploads exactly what a model needs (an allow-list by kind: no hidden folder, no link out of the folder, a
warning naming what is left out, every check before the repo is created), against a loopback stand-in Hub; every
network or offline failure of push, push-space and the official download is one line, exit 2, within 10 s."""

import time

import huggingface_hub.constants
import pytest

from c2ser_hf.cli import main
from c2ser_hf.hub import HubError
from c2ser_hf.new_model import write_random_c2ser
from c2ser_hf.official import from_official

from hub_standin import HubStandIn


@pytest.fixture
def online_to_loopback(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub-uploads") / "model"
    write_random_c2ser(folder, seed=3)
    return folder


def one_line(capsys, status, expected, message):
    err = capsys.readouterr().err.strip()
    assert status == expected and message in err and len(err.splitlines()) == 1, err
    return err


def test_push_leaves_out_hidden_folders_links_out_and_other_kinds(model, tmp_path, capsys, online_to_loopback):
    folder = tmp_path / "with-private"
    folder.mkdir()
    for file in model.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    for private in (".ssh/id_rsa", ".secrets/token.txt", ".cache/huggingface/x.json", ".env"):
        (folder / private).parent.mkdir(parents=True, exist_ok=True)
        (folder / private).write_text("secret\n")
    (tmp_path / "outside.txt").write_text("not the model's\n")
    (folder / "notes.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "core.dump").write_bytes(b"\0" * 10)
    with HubStandIn(tmp_path / "hub") as hub:
        capsys.readouterr()
        assert main(["push", "--model", str(folder), "--repo-id", "someone/tiny", "--endpoint", hub.url]) == 0
    uploaded = {p.relative_to(tmp_path / "hub" / "someone" / "tiny").as_posix()
                for p in (tmp_path / "hub" / "someone" / "tiny").rglob("*") if p.is_file()}
    assert "config.json" in uploaded and "model.safetensors" in uploaded and "README.md" in uploaded
    assert not {name for name in uploaded if name.startswith(".") or name in ("notes.txt", "core.dump")}, uploaded
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1
    for named in (".ssh/id_rsa (hidden)", ".secrets/token.txt (hidden)", ".env (hidden)", ".cache/huggingface/x.json",
                  "notes.txt (a link out of the folder)", "core.dump (not a model file)"):
        assert named in warning[0], warning[0]


def test_a_refused_folder_creates_no_repo(tmp_path, capsys, online_to_loopback):
    (tmp_path / "empty" / ".cache").mkdir(parents=True)
    with HubStandIn(tmp_path / "hub") as hub:
        one_line(capsys, main(["push", "--model", str(tmp_path / "empty"), "--repo-id", "someone/none", "--endpoint",
                               hub.url]), 2, "empty")
    assert hub.repos == {} and hub.commits == []


def test_offline_and_unreachable_hub_are_one_line_within_ten_seconds(model, tmp_path, capsys, monkeypatch):
    started = time.monotonic()
    one_line(capsys, main(["push", "--model", str(model), "--repo-id", "someone/x"]), 2, "HF_HUB_OFFLINE is set")
    one_line(capsys, main(["push-space", "--repo-id", "someone/demo"]), 2, "HF_HUB_OFFLINE is set")
    with pytest.raises(HubError, match="not in the cache .* and HF_HUB_OFFLINE is set"):
        from_official(cache_dir=tmp_path / "cache")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
    one_line(capsys, main(["push", "--model", str(model), "--repo-id", "someone/x", "--endpoint", closed]), 2,
             "could not reach the Hub")
    one_line(capsys, main(["push-space", "--repo-id", "someone/demo", "--endpoint", closed]), 2,
             "could not reach the Hub")
    elapsed = time.monotonic() - started
    print(f"five offline / unreachable Hub failures: {elapsed:.1f} s")
    assert elapsed < 10
