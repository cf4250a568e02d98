"""CI runs the README's install and test commands: .ci/run and the README must say the same."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fenced_commands(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


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
