"""`c2ser-hf push` against a local stand-in for the Hub API (loopback only)."""

import filecmp
from pathlib import Path

import huggingface_hub.constants
import pytest

from c2ser_hf.hub import push_to_hub
from c2ser_hf.new_model import write_random_c2ser

from hub_standin import HubStandIn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def online_to_loopback(monkeypatch):
    # the suite runs offline; these requests only reach the stand-in on 127.0.0.1
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def test_push_uploads_every_file_with_a_generated_card(tmp_path, online_to_loopback):
    folder = tmp_path / "model"
    write_random_c2ser(folder, seed=7)
    with HubStandIn(tmp_path / "hub") as hub:
        url = push_to_hub(folder, "someone/c2ser-tiny", private=True, token="hf_test", endpoint=hub.url)
    assert url.startswith(f"{hub.url}/someone/c2ser-tiny/commit/")
    assert hub.repos["someone/c2ser-tiny"]["visibility"] == "private" and len(hub.commits) == 1
    uploaded = tmp_path / "hub" / "someone" / "c2ser-tiny"
    for local in folder.iterdir():
        assert filecmp.cmp(local, uploaded / local.name, shallow=False), local.name
    card = (uploaded / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and 'from_pretrained("someone/c2ser-tiny"' in card


def test_cli_push(tmp_path, online_to_loopback):
    from c2ser_hf.cli import main

    folder = tmp_path / "model"
    write_random_c2ser(folder, seed=8)
    with HubStandIn(tmp_path / "hub") as hub:
        assert main(["push", "--model", str(folder), "--repo-id", "someone/cli", "--endpoint", hub.url]) == 0
    assert (tmp_path / "hub" / "someone" / "cli" / "model.safetensors").is_file()
    assert hub.repos["someone/cli"]["visibility"] != "private"


def test_push_refuses_a_folder_without_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        push_to_hub(tmp_path, "someone/empty", endpoint="http://127.0.0.1:9")


def test_push_replaces_a_generated_card_and_keeps_a_handwritten_one(tmp_path, online_to_loopback):
    from c2ser_hf.model_card import write_model_card

    folder = tmp_path / "model"
    write_random_c2ser(folder, seed=9)
    write_model_card(folder, repo_id="placeholder")
    with HubStandIn(tmp_path / "hub") as hub:
        push_to_hub(folder, "someone/generated", endpoint=hub.url)
        (folder / "README.md").write_text("# My own card\n")
        push_to_hub(folder, "someone/handwritten", endpoint=hub.url)
    generated = (tmp_path / "hub" / "someone" / "generated" / "README.md").read_text(encoding="utf-8")
    assert "someone/generated" in generated and "placeholder" not in generated
    assert (tmp_path / "hub" / "someone" / "handwritten" / "README.md").read_text() == "# My own card\n"


def test_push_space_uploads_the_staged_space(tmp_path, online_to_loopback):
    import yaml

    from c2ser_hf.cli import main

    with HubStandIn(tmp_path / "hub") as hub:
        assert main(["push-space", "--repo-id", "someone/demo", "--model", "someone/c2ser", "--endpoint", hub.url]) == 0
        assert main(["push-space", "--repo-id", "someone/demo", "--model", str(tmp_path), "--endpoint", hub.url]) == 2
    assert hub.repos["someone/demo"]["type"] == "space" and hub.repos["someone/demo"]["sdk"] == "gradio"
    assert hub.variables == {"someone/demo": {"C2SER_MODEL": "someone/c2ser"}} and len(hub.commits) == 1
    space = tmp_path / "hub" / "someone" / "demo"
    assert filecmp.cmp(space / "app.py", ROOT / "spaces" / "app.py", shallow=False)
    assert filecmp.cmp(space / "constraints.txt", ROOT / "constraints.txt", shallow=False)
    package = space / "c2ser-hf"
    assert (package / "setup.cfg").is_file() and (package / "modeling" / "modeling_c2ser.py").is_file()
    assert not list(space.rglob("__pycache__")) and len(list((space / "examples").glob("*.wav"))) == 5
    readme = (space / "README.md").read_text(encoding="utf-8")
    assert yaml.safe_load(readme.split("---\n")[1])["models"] == ["someone/c2ser"]
    assert 'Client("someone/demo")' in readme and "OWNER/SPACE" not in readme


def test_push_links_the_space_in_the_model_card(tmp_path, online_to_loopback):
    from c2ser_hf.cli import main

    folder = tmp_path / "model"
    write_random_c2ser(folder, seed=10)
    with HubStandIn(tmp_path / "hub") as hub:
        assert main(["push", "--model", str(folder), "--repo-id", "someone/m", "--space", "someone/demo",
                     "--endpoint", hub.url]) == 0
    card = (tmp_path / "hub" / "someone" / "m" / "README.md").read_text(encoding="utf-8")
    assert "https://huggingface.co/spaces/someone/demo" in card
    assert 'Client("someone/demo")' in card and 'api_name="/analyze"' in card
