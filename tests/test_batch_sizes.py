"""`--batch-size auto` and the padding budget by device (`c2ser_hf/batch_sizes.py`)."""

import pytest

from c2ser_hf.batch_sizes import (
    CPU_BATCH_SIZE, MAX_AUTO_BATCH_SIZE, acoustic_padding_budget, auto_batch_size, c2ser_batch_size, padding_budget,
    plan_batches, window_bytes,
)
from c2ser_hf.inference import run_inference
from c2ser_hf.model_sizes import c2ser_config

GIB = 2**30


def test_a_cpu_gets_the_fixed_size_and_budget(tester):
    model = tester.model()
    assert c2ser_batch_size(model, tester.processor, 16000 * 30, {}, True) == CPU_BATCH_SIZE
    assert padding_budget("cpu") < padding_budget("cuda:1") == padding_budget("cuda")
    with pytest.raises(ValueError, match="batch_size must be a positive int or 'auto', got 'big'"):
        run_inference(model, tester.processor, [tester.clips([8000])[0]], batch_size="big")
    (result,) = run_inference(model, tester.processor, tester.clips([8000]), mode=None, scores=True,
                              batch_size="auto")
    assert len(result["windows"]) == 1


def test_emotion2vec_s_batches_of_mixed_lengths_run_as_one_call_on_a_gpu():
    """The Emotion2Vec-S bench's 8 clips of 2-10 s (33% padding together) are one batch on an accelerator, where the
    measured single call beat 7 + 1, and stay in small low-padding groups on a CPU."""
    frames = [round(seconds * 50) - 1 for seconds in (2, 2 + 8 / 7, 2 + 16 / 7, 2 + 24 / 7, 2 + 32 / 7, 2 + 40 / 7,
                                                      2 + 48 / 7, 10)]
    assert [len(b) for b in plan_batches(frames, 8, acoustic_padding_budget("cuda"))] == [8]
    assert [len(b) for b in plan_batches(frames, 8, padding_budget("cuda"))] == [7, 1]
    assert len(plan_batches(frames, 8, acoustic_padding_budget("cpu"))) == 4


def test_the_released_size_on_an_80_gb_gpu():
    """Released shapes, bf16 language model, 62 GiB free (an 80 GB card after the ~16 GB of weights)."""
    config = c2ser_config("full")
    generate = dict(new_tokens=400, beams=4)
    for seconds, least, most in ((30, 32, 64), (5, 128, MAX_AUTO_BATCH_SIZE)):
        size = auto_batch_size(62 * GIB, window_bytes(config, 16000 * seconds, 2, **generate))
        assert least <= size <= most, (seconds, size)
    # more audio, more answer or more beams never allow more windows
    base = window_bytes(config, 16000 * 10, 2, **generate)
    assert window_bytes(config, 16000 * 20, 2, **generate) >= base
    assert window_bytes(config, 16000 * 10, 2, new_tokens=800, beams=4) >= base
    assert window_bytes(config, 16000 * 10, 4, **generate) >= base  # an fp32 language model
    assert auto_batch_size(1 * GIB, window_bytes(config, 16000 * 30, 2, **generate)) == 1  # at least one
    assert auto_batch_size(None, 1) == CPU_BATCH_SIZE
