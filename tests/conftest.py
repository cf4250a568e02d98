"""Test-wide settings: no network, deterministic CPU threads, evaluate's caches in a temporary folder."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

# `evaluate.load(path)` copies the module under HF_MODULES_CACHE and writes its arrow files under HF_METRICS_CACHE
# (both default to the user's HF_HOME): keep both out of it, once for the whole run, before evaluate is imported.
_EVALUATE_HOME = tempfile.mkdtemp(prefix="c2ser-tests-evaluate-")
atexit.register(shutil.rmtree, _EVALUATE_HOME, ignore_errors=True)
os.environ.setdefault("HF_MODULES_CACHE", os.path.join(_EVALUATE_HOME, "modules"))
os.environ.setdefault("HF_METRICS_CACHE", os.path.join(_EVALUATE_HOME, "metrics"))
