"""Peak memory of converting a C2SER checkpoint, against the checkpoint's size, one run.

    python bench/bench_convert_c2ser.py [--layers 48] [--shard-gb 0.25]

Builds a synthetic checkpoint in the official `C2SER_llm.pt` layout whose Qwen2 part is large (hidden 2048, FFN
5632, `--layers` layers: about 4.4 GB in bf16 at 48 layers), then converts it in a fresh process for each mode and
prints that process's peak RSS (as the kernel counts it, mapped checkpoint pages included) / the file size. The
writer maps the checkpoint afresh for every output shard, so the peak follows the shard size, not the model size.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "tests" / "helpers"
# Everything heavy runs in child processes: a child's peak RSS starts from its parent's at fork, so this parent
# stays small (no torch) and builds the synthetic checkpoint in a child of its own.
BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf
from upstream_c2ser import build_upstream
text = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=int(sys.argv[3]), num_attention_heads=16,
            num_key_value_heads=4)
build_upstream(Path(sys.argv[2]), seed=0, text=text)
conf = tiny_conf()
save_fairseq(build_funasr_model(conf, seed=0), conf, Path(sys.argv[2]) / "e2v.pt")
"""
CONVERT = """
import sys, torch
import c2ser_hf
from c2ser_hf.convert_c2ser import convert_c2ser
convert_c2ser(sys.argv[1], sys.argv[2], sys.argv[3], base_model=sys.argv[4], light=sys.argv[5] == "light",
              max_shard_bytes=int(float(sys.argv[6]) * 1e9))
"""


def peak_rss_of(command: list[str]) -> int:
    """Run `command` and return its peak resident set size in bytes."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(process.stderr.read().decode()[-2000:])
    return usage.ru_maxrss * 1024  # kilobytes on Linux


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=48)
    parser.add_argument("--shard-gb", type=float, default=0.25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-c", BUILD, str(HELPERS), str(tmp), str(args.layers)], check=True,
                       capture_output=True)
        checkpoint, base_dir = tmp / "C2SER_llm.pt", tmp / "Qwen2-7B"
        size = checkpoint.stat().st_size
        python_rss = peak_rss_of([sys.executable, "-c", "import c2ser_hf"])
        print(f"checkpoint {size / 1e9:.2f} GB; a bare `import c2ser_hf` process peaks at {python_rss / 1e9:.2f} GB")
        for mode in ("merged", "light"):
            peak = peak_rss_of([sys.executable, "-c", CONVERT, str(checkpoint), str(tmp / "e2v.pt"), str(tmp / mode),
                                str(base_dir), mode, str(args.shard_gb)])
            print(f"[{mode}] peak RSS {peak / 1e9:.2f} GB = {peak / size:.2f} x the checkpoint size; above the bare "
                  f"import: {(peak - python_rss) / 1e9:.2f} GB = {(peak - python_rss) / size:.2f} x (shards of "
                  f"{args.shard_gb} GB)")


if __name__ == "__main__":
    main()
