"""The layout rules of docs/architecture.md: what each folder may import, and the one speech-length formula."""

import ast
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what a Hub file may import besides files of its own folder (docs/architecture.md#hub-files)
HUB_LIBRARIES = {"torch", "numpy", "transformers", "huggingface_hub", "torchaudio"}


def imports(path: Path):
    """(absolute module or None, relative level, names) of every import statement in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, 0, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module, node.level, [alias.name for alias in node.names]


def test_hub_files_import_only_their_own_folder_and_libraries():
    wrong = []
    for folder in ("modeling", "processing"):
        # a folder's __init__.py only gathers the package's exports; save_pretrained never copies it
        for path in sorted(set((ROOT / folder).glob("*.py")) - {ROOT / folder / "__init__.py"}):
            for module, level, names in imports(path):
                if level == 0:
                    if module.split(".")[0] not in HUB_LIBRARIES | set(sys.stdlib_module_names):
                        wrong.append(f"{folder}/{path.name}: import {module}")
                elif level > 1 or module is None or not (ROOT / folder / f"{module}.py").is_file():
                    wrong.append(f"{folder}/{path.name}: from {'.' * level}{module or ''} import {names}")
    assert not wrong, wrong


def test_datasets_scripts_never_import_c2ser_hf_modules():
    """c2ser_hf/ calls datasets_scripts/, not the other way round; the label set of processing/ is allowed."""
    wrong = []
    for path in sorted((ROOT / "datasets_scripts").glob("*.py")):
        for module, level, _ in imports(path):
            absolute = module or ""
            if level == 2:
                absolute = f"c2ser_hf.{module}"
            if absolute.startswith("c2ser_hf") and not absolute.startswith(
                ("c2ser_hf.processing", "c2ser_hf.datasets_scripts")
            ):
                wrong.append(f"datasets_scripts/{path.name}: {absolute}")
    assert not wrong, wrong


def test_the_speech_length_formula_exists_once():
    """Both Hub folders carry speech_lengths.py; processing's is a link to modeling's, and no other file has a copy."""
    modeling, processing = ROOT / "modeling" / "speech_lengths.py", ROOT / "processing" / "speech_lengths.py"
    assert processing.is_symlink() and os.path.samefile(processing, modeling)
    formula = "2 + num_acoustic_tokens + downsampled_lengths(encoder_lengths("
    holders = [path for folder in ("modeling", "processing", "c2ser_hf") for path in (ROOT / folder).rglob("*.py")
               if not path.is_symlink() and formula in path.read_text(encoding="utf-8")]
    assert holders == [modeling]
