#!/usr/bin/env bash
# The GPU check in one run, on a machine that has no network: carried wheels, then the package without a build, an
# import check, the Emotion2Vec-S bench (fp32 strict, tf32, bf16), one training step at the released size (LoRA,
# gradient checkpointing, bf16 LLM, batch 8 of 8 s clips), corpus labelling at the released size on 1,400 clips with
# Emo-Emilia's duration spread (per mode: wall time, clips/s, real-time factor, memory, roofline fraction), the
# released-size C2SER bench (bf16 LLM; scores vs greedy vs one prefill), then labelling with bf16 compiled encoders;
# each under its own timeout so that one failing or hanging does not stop the next. The log and the JSON summaries go
# to $OUT.
#
#   bash bench/device_check.sh              # on the device: cuda, size full (expect ~11 min on an H100/H200)
#   bash bench/device_check.sh cpu tiny 14  # a rehearsal anywhere (third argument: corpus clips)
#   STEPS="inference compiled" bash bench/device_check.sh   # some steps only (e2v train inference c2ser compiled), e.g.
#                                                          # to split the run over two calls of 10 minutes
#
# Wheels: `.whl/*.whl` in the repository root (ignored by git, carried to the device), pinned where the device's
# own versions do not do: transformers 5.24.0, peft 0.21.2; for FunASR's reference emotion2vec funasr and what its
# import needs beyond the device's packages (omegaconf, antlr4-python3-runtime, hydra-core, kaldiio, librosa, soxr,
# audioread, soundfile, jaconv, jieba, torch-complex, tensorboardX, more-itertools: imported, never called). Without
# an importable FunASR the Emotion2Vec-S bench runs with --no-reference.
set -o pipefail
export PYTHONUNBUFFERED=1
DEVICE=${1:-cuda}
SIZE=${2:-full}
CLIPS=${3:-1400}
STEPS=" ${STEPS:-e2v train inference c2ser compiled} "
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/device_check_out}
WORK=$(mktemp -d)
mkdir -p "$OUT"
cd "$(dirname "$0")/.." || exit 1

{
    echo "== machine ($(date -u +%H:%M:%S))"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "no nvidia-smi"
    "$PY" --version

    echo "== wheels"
    if compgen -G ".whl/*.whl" >/dev/null; then
        ls .whl
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --root-user-action=ignore \
            --target "$WORK/site" .whl/*.whl || echo "FAILED wheel install"
    fi
    # the package as setup.cfg's package_dir lays it out, without building it
    mkdir -p "$WORK/pkg" && cp -r c2ser_hf "$WORK/pkg/" && cp -r modeling processing datasets_scripts "$WORK/pkg/c2ser_hf/"
    export PYTHONPATH="$WORK/site:$WORK/pkg${PYTHONPATH:+:$PYTHONPATH}"

    echo "== import check ($(date -u +%H:%M:%S))"
    # -P: not the repository root first on sys.path, whose c2ser_hf/ lacks the mapped subpackages
    timeout 60 "$PY" -P -c "
import torch, transformers, huggingface_hub, tokenizers, c2ser_hf
from c2ser_hf.modeling import C2SERForConditionalGeneration
print('torch', torch.__version__, '| transformers', transformers.__version__, '| huggingface_hub',
      huggingface_hub.__version__, '| tokenizers', tokenizers.__version__, '| c2ser_hf from', c2ser_hf.__file__)
print('cuda:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'not available')
" || echo "FAILED import check (status $?)"
    REFERENCE=--no-reference
    # FunASR's emotion2vec imports distutils (gone in Python 3.12): setuptools provides it, as the bench does
    if timeout 60 "$PY" -P -c "import setuptools; from funasr.models.emotion2vec.model import Emotion2vec" \
        >"$WORK/funasr.log" 2>&1; then
        REFERENCE=
        echo "FunASR reference: importable"
    else
        echo "FunASR reference: NOT importable, the Emotion2Vec-S bench runs with --no-reference:"
        tail -n 5 "$WORK/funasr.log"
    fi

    step() { [[ "$STEPS" == *" $1 "* ]]; }
    if step e2v; then
        echo "== Emotion2Vec-S, fp32 strict / tf32 / bf16 ($(date -u +%H:%M:%S))"
        timeout 120 "$PY" bench/bench_emotion2vec_s.py --device "$DEVICE" --repeats 15 $REFERENCE $E2V_ARGS \
            --summary "$OUT/emotion2vec_summary.json" 2>&1 | sed "/Please install torch_complex/d" \
            || echo "FAILED Emotion2Vec-S bench (status $?)"
    fi
    if step train; then
        echo "== C2SER training step, size $SIZE, LoRA + gradient checkpointing, bf16 LLM ($(date -u +%H:%M:%S))"
        timeout 150 "$PY" bench/bench_train_step.py --size "$SIZE" --device "$DEVICE" --batch 8 --seconds 8 \
            --summary "$OUT/train_step_summary.json" || echo "FAILED training step (status $?)"
    fi
    if step inference; then
        echo "== corpus labelling, size $SIZE, $CLIPS clips, bf16 LLM, fp32 encoders ($(date -u +%H:%M:%S))"
        timeout 220 "$PY" bench/bench_inference.py --size "$SIZE" --device "$DEVICE" --dtype bfloat16 \
            --clips "$CLIPS" --batch-size auto --summary "$OUT/inference_summary.json" \
            || echo "FAILED inference bench (status $?)"
    fi
    if step c2ser; then
        echo "== C2SER size $SIZE, bf16 LLM ($(date -u +%H:%M:%S))"
        timeout 210 "$PY" bench/bench_c2ser.py --size "$SIZE" --device "$DEVICE" --dtype bfloat16 --repeats 3 \
            --new-tokens 20 --summary "$OUT/c2ser_summary.json" || echo "FAILED C2SER bench (status $?)"
    fi
    if step compiled; then
        echo "== corpus labelling, bf16 compiled encoders, scores ($(date -u +%H:%M:%S))"
        timeout 150 "$PY" bench/bench_inference.py --size "$SIZE" --device "$DEVICE" --dtype bfloat16 \
            --clips "$CLIPS" --batch-size auto --modes scores --encoder-precision bf16 --compile \
            --summary "$OUT/inference_bf16_compiled_summary.json" \
            || echo "FAILED inference bench, bf16 compiled (status $?)"
    fi
    echo "== done ($(date -u +%H:%M:%S))"
} 2>&1 | tee "$OUT/log.txt"
