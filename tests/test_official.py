"""`from_official` against a Hugging Face cache laid out like the official repos, offline."""

import os

import numpy as np
import pytest
import torch
from transformers import AutoModelForMultimodalLM, AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.official import from_official

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf
from upstream_c2ser import build_upstream
from cli_runner import cli_command
from loopback import free_port

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_repo(cache, repo_id, files):
    """Place files where huggingface_hub's cache keeps a model repo's snapshot of `main`."""
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)
    for source in files:
        os.link(source, snapshot / source.name)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    work, cache = tmp_path_factory.mktemp("sources"), tmp_path_factory.mktemp("hf-cache")
    checkpoint, base_dir, _ = build_upstream(work, seed=5)
    conf = tiny_conf()
    save_fairseq(build_funasr_model(conf, seed=6), conf, work / "checkpoint.pt")
    cache_repo(cache, "ASLP-lab/C2SER-LLM", [checkpoint])
    cache_repo(cache, "ASLP-lab/Emotion2Vec-S", [work / "checkpoint.pt"])
    cache_repo(cache, "Qwen/Qwen2-7B", sorted(p for p in base_dir.iterdir() if p.is_file()))
    return cache


def test_from_official_converts_once_and_loads(hub_cache):
    folder = from_official(cache_dir=hub_cache)
    assert folder.parent == hub_cache / "c2ser-hf" and (folder / "adapter_model.safetensors").is_file()
    stamp = (folder / "config.json").stat().st_mtime_ns
    assert from_official(cache_dir=hub_cache) == folder and (folder / "config.json").stat().st_mtime_ns == stamp

    model = AutoModelForMultimodalLM.from_pretrained(folder, cache_dir=hub_cache, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(folder)
    assert model.config.base_model_name_or_path == "Qwen/Qwen2-7B"
    clip = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    with torch.no_grad():
        out = model.generate(**processor(clip), max_new_tokens=3, num_beams=1, do_sample=False)
    assert out.shape[0] == 1

    merged = from_official(cache_dir=hub_cache, light=False)
    assert merged != folder and not (merged / "adapter_model.safetensors").exists()


def test_missing_repo_file_is_named(tmp_path):
    (tmp_path / "C2SER-LLM").mkdir()
    with pytest.raises(FileNotFoundError, match="has no C2SER_llm.pt"):
        from_official(cache_dir=tmp_path, c2ser_repo=tmp_path / "C2SER-LLM")


def test_predict_with_the_official_model(hub_cache, tmp_path):
    import json
    import subprocess

    from audio_fixtures import speech

    clip = speech(tmp_path / "clip.wav", "Oh no, not again.")
    result = subprocess.run(
        [*cli_command("predict"), str(clip), "--model", "official", "--cache-dir", str(hub_cache),
         "--json", "--scores", "--greedy", "--max-new-tokens", "3"],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["file"] == str(clip) and len(line["scores"]) == 7


def test_model_card_snippet_runs_and_results_table(hub_cache, tmp_path, monkeypatch):
    import json
    import re
    import shutil

    from audio_fixtures import speech
    from c2ser_hf.model_card import EVALUATION_FILE, model_card

    folder = tmp_path / "model"
    shutil.copytree(from_official(cache_dir=hub_cache), folder)
    (folder / EVALUATION_FILE).write_text(json.dumps({"Emo-Emilia": {"WA": 61.5, "UA": 60.25, "F1": 59.0}}))
    card = model_card(folder, repo_id="someone/c2ser")
    assert card.startswith("---\n") and "base_model: Qwen/Qwen2-7B" in card and "| Emo-Emilia | 59.00 | 60.25 | 61.50 |" in card
    (snippet,) = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    monkeypatch.chdir(tmp_path)
    speech(tmp_path / "speech.wav", "This is wonderful news.")
    # the snippet as published, pointed at the local copy; the base model comes from the offline cache
    code = snippet.replace('"someone/c2ser"', repr(str(folder))).replace(
        "trust_remote_code=True).eval()", f"trust_remote_code=True, cache_dir={str(hub_cache)!r}).eval()"
    )
    exec(compile(code, "model card", "exec"), {})


def test_an_unreachable_hub_is_one_line_at_once_without_retries(tmp_path):
    """A Hub that refuses connections (a closed loopback port stands in for no network): from_official gives one
    HubError line in a single attempt; huggingface_hub's own download retried for about 25 s first."""
    import subprocess
    import sys

    port = free_port()  # nothing listens there: connections are refused
    script = ("import time\nfrom c2ser_hf.official import from_official\nfrom c2ser_hf.hub import HubError\n"
              "started = time.monotonic()\ntry:\n    from_official(cache_dir=%r)\nexcept HubError as error:\n"
              "    print(f'{time.monotonic() - started:.2f}', error)\n" % str(tmp_path / "cache"))
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    seconds, message = result.stdout.strip().split(" ", 1)
    print(f"unreachable Hub answered in {seconds} s: {message}")
    assert "ASLP-lab/C2SER-LLM/C2SER_llm.pt (not in the cache" in message and "could not reach the Hub" in message
    assert float(seconds) < 10.0
