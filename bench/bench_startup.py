"""Start-up cost, each in fresh interpreters, rounds alternating: `c2ser-hf --help`, `import c2ser_hf` against
`import torch, transformers`, and the Auto classes with our registration against the Auto classes alone.

Targets: `--help` under 0.5 s; `import c2ser_hf` at most 1.3× `import torch, transformers`.

    python bench/bench_startup.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONSOLE_SCRIPT = str(Path(sys.executable).parent / "c2ser-hf")
AUTO = "from transformers import AutoConfig, AutoModel, AutoModelForMultimodalLM, AutoProcessor, AutoFeatureExtractor"
COMMANDS = {
    "c2ser-hf --help": [CONSOLE_SCRIPT, "--help"],
    "c2ser-hf predict --help": [CONSOLE_SCRIPT, "predict", "--help"],
    "import c2ser_hf": [sys.executable, "-c", "import c2ser_hf"],
    "import torch, transformers": [sys.executable, "-c", "import torch, transformers"],
    "Auto classes": [sys.executable, "-c", AUTO],
    "import c2ser_hf + Auto classes (registered)": [
        sys.executable, "-c", f"import c2ser_hf\n{AUTO}\nfrom transformers.models.auto.modeling_auto import MODEL_MAPPING"
        "\nassert c2ser_hf.C2SERConfig in MODEL_MAPPING"],
}


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache
        wall(command)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(wall(command))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:45s} median {median[name]:.3f} s  (runs: {', '.join(f'{v:.3f}' for v in values)})")
    ratio = median["import c2ser_hf"] / median["import torch, transformers"]
    registered = median["import c2ser_hf + Auto classes (registered)"] / median["Auto classes"]
    print(f"c2ser-hf --help: {median['c2ser-hf --help']:.3f} s (target < 0.5 s)")
    print(f"import c2ser_hf / import torch, transformers: {ratio:.3f} (target <= 1.3)")
    print(f"Auto classes with our registration / Auto classes alone: {registered:.2f}")


if __name__ == "__main__":
    main()
