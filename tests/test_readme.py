"""CI runs the README's install and test commands: .ci/run and the README must say the same."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fenced_blocks(markdown: str, heading: str, language: str) -> list[str]:
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def fenced_commands(markdown: str, heading: str) -> list[str]:
    return [line.strip() for block in fenced_blocks(markdown, heading, "bash") for line in block.splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_lines == fenced_commands(readme, "Install") + fenced_commands(readme, "Test")


def test_constraints_pin_what_setup_cfg_requires():
    pins = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    setup = (ROOT / "setup.cfg").read_text()
    requirements = re.findall(r"^\s{4}([A-Za-z0-9_\-]+)[<>=]", setup, flags=re.M)
    unpinned = sorted({r.lower().replace("_", "-") for r in requirements} - pins)
    assert not unpinned, f"setup.cfg requires packages that constraints.txt does not pin: {unpinned}"


def test_c2ser_quickstart_runs_as_written(tmp_path, monkeypatch):
    import json
    import os
    import shlex
    import shutil
    import subprocess

    from audio_fixtures import speech, tone

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = fenced_commands(readme, "Quickstart: C²SER")
    quickstart, pipeline_example = fenced_blocks(readme, "Quickstart: C²SER", "python")
    monkeypatch.chdir(tmp_path)
    speech(tmp_path / "a.wav", "What a wonderful surprise!")
    tone(tmp_path / "b.wav", seconds=2.0, rate=44100, channels=2)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", "b.wav", "b.mp3"], check=True)
    os.remove("b.wav")
    new, predict = (shlex.split(command) for command in commands)
    for command in (new, predict):
        result = subprocess.run([shutil.which(command[0]), *command[1:]], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    predictions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["file"] for p in predictions] == ["a.wav", "b.mp3"] and all(len(p["scores"]) == 7 for p in predictions)

    namespace = {}
    exec(compile(quickstart, "README.md", "exec"), namespace)
    assert len(namespace["answers"]) == 2 and set(namespace["answers"][0]) == {"text", "emotion"}
    assert abs(sum(namespace["scores"][1].values()) - 1) < 1e-5
    exec(compile(pipeline_example, "README.md", "exec"), namespace)
    assert len(namespace["ranked"]) == 3 and namespace["ranked"][0]["score"] >= namespace["ranked"][1]["score"]


def test_emotion2vec_s_quickstart_runs_offline_as_written(tmp_path, monkeypatch):
    import shlex
    import shutil
    import subprocess

    import numpy as np

    from audio_fixtures import speech

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = fenced_commands(readme, "Quickstart: Emotion2Vec-S features")
    (python_example,) = fenced_blocks(readme, "Quickstart: Emotion2Vec-S features", "python")
    monkeypatch.chdir(tmp_path)
    speech(tmp_path / "a.wav", "Hello there.")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", "a.wav", "b.flac"], check=True)
    for command in map(shlex.split, commands):
        result = subprocess.run([shutil.which(command[0]), *command[1:]], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    hidden = np.load(tmp_path / "features" / "a.npy").shape[-1]
    assert np.load(tmp_path / "utt" / "b.npy").shape == (hidden,)
    namespace = {}
    exec(compile(python_example, "README.md", "exec"), namespace)
    assert namespace["out"].utterance_features.shape == (2, hidden)


def test_evaluation_example_runs_offline_as_written(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    *_, example = fenced_blocks(readme, "Evaluation", "python")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    [entry] = namespace["results"]["results"]
    assert entry["row"] == "tiny-c2ser (scores)" and entry["clips"] == 4 and entry["dataset"] == "four-clips/test"
    assert (tmp_path / "eval-demo" / "results.md").read_text().splitlines()[2].startswith("| tiny-c2ser (scores) | ")
    assert namespace["ser"].compute(predictions=["anger", None], references=["anger", "fear"])["unparseable_rate"] == 0.5


def test_setup_cfg_lists_every_package():
    """A non-editable install ships only the packages setup.cfg names: every folder with an __init__.py must be one."""
    setup = (ROOT / "setup.cfg").read_text()
    listed = set(re.search(r"^packages =\n((?:\s{4}\S+\n)+)", setup, flags=re.M).group(1).split())
    folders = {"c2ser_hf": ROOT / "c2ser_hf", "c2ser_hf.modeling": ROOT / "modeling",
               "c2ser_hf.processing": ROOT / "processing", "c2ser_hf.datasets_scripts": ROOT / "datasets_scripts"}
    found = set()
    for package, folder in folders.items():
        found |= {".".join([package, *init.parent.relative_to(folder).parts]) for init in folder.rglob("__init__.py")}
    assert found <= listed, f"packages missing from setup.cfg: {sorted(found - listed)}"
