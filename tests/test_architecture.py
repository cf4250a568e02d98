"""The layout rules of docs/architecture.md: what each folder may import, where datasets are opened and audio rows
decoded, and the formulas that exist once (speech lengths, Emotion2Vec-S frames)."""

import ast
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# every folder of Python that ships or runs against the package; tests/ keeps its own literal oracles
CODE_FOLDERS = ("modeling", "processing", "c2ser_hf", "datasets_scripts", "spaces", "bench", "examples")


def imports(path: Path):
    """(absolute module or None, relative level, names, inside a function) of every import statement in the file."""

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                yield from ((alias.name, 0, [], in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                yield child.module, child.level, [alias.name for alias in child.names], in_function
            yield from visit(child, nested)

    yield from visit(ast.parse(path.read_text(encoding="utf-8")), False)


def called_name(call: ast.Call) -> str | None:
    """`f` of `f(...)` and of `x.f(...)`."""
    return getattr(call.func, "attr", None) or getattr(call.func, "id", None)


def python_files(*folders: str):
    for folder in folders:
        yield from sorted(path for path in (ROOT / folder).rglob("*.py") if not path.is_symlink())


def hub_rule_libraries() -> tuple[set[str], set[str]]:
    """(libraries a Hub file may import at module level, libraries it may import only inside a function), read from
    the two bullets of docs/architecture.md#hub-files, so that the test checks the rule exactly as the doc states it."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split('<a id="hub-files"></a>', 1)[1].split("\n## ", 2)[1]
    bullets = {}
    for bullet in re.findall(r"^- (.+?)(?=^- |^\s*$)", section, flags=re.M | re.S):
        label, _, names = bullet.partition(":")
        bullets[label.strip()] = set(re.findall(r"`(\w+)`", names))
    return bullets["at module level"], bullets["inside a function, where installed"]


def test_the_hub_rule_names_the_libraries_the_hub_files_need():
    """The doc's lists are not empty or stale: each library it allows is imported by some Hub file."""
    module_level, optional = hub_rule_libraries()
    assert {"torch", "numpy", "transformers"} <= module_level and not module_level & optional
    used = {module.split(".")[0] for folder in ("modeling", "processing") for path in python_files(folder)
            for module, level, _, _ in imports(path) if level == 0}
    assert module_level | optional <= used, (module_level | optional) - used


def test_hub_files_import_only_their_own_folder_and_libraries():
    module_level, optional = hub_rule_libraries()
    stdlib = set(sys.stdlib_module_names)
    wrong = []
    for folder in ("modeling", "processing"):
        # a folder's __init__.py only gathers the package's exports; save_pretrained never copies it
        for path in sorted(set((ROOT / folder).glob("*.py")) - {ROOT / folder / "__init__.py"}):
            for module, level, names, in_function in imports(path):
                if level == 0:
                    allowed = module_level | stdlib | (optional if in_function else set())
                    if module.split(".")[0] not in allowed:
                        where = "inside a function" if in_function else "at module level"
                        wrong.append(f"{folder}/{path.name}: import {module} {where}")
                elif level > 1 or module is None or not (ROOT / folder / f"{module}.py").is_file():
                    wrong.append(f"{folder}/{path.name}: from {'.' * level}{module or ''} import {names}")
    assert not wrong, wrong


def test_the_hub_folders_point_to_the_rule_instead_of_restating_it():
    module_level, optional = hub_rule_libraries()
    for folder in ("modeling", "processing"):
        docstring = ast.get_docstring(ast.parse((ROOT / folder / "__init__.py").read_text(encoding="utf-8")))
        assert "docs/architecture.md#hub-files" in docstring
        assert not [name for name in module_level | optional if name in docstring], docstring


def test_datasets_scripts_never_import_c2ser_hf_modules():
    """c2ser_hf/ calls datasets_scripts/, not the other way round; the label set of processing/ is allowed."""
    wrong = []
    for path in sorted((ROOT / "datasets_scripts").glob("*.py")):
        for module, level, _, _ in imports(path):
            absolute = module or ""
            if level == 2:
                absolute = f"c2ser_hf.{module}"
            if absolute.startswith("c2ser_hf") and not absolute.startswith(
                ("c2ser_hf.processing", "c2ser_hf.datasets_scripts")
            ):
                wrong.append(f"datasets_scripts/{path.name}: {absolute}")
    assert not wrong, wrong


def absolute_imports(path: Path):
    """Every module a file of c2ser_hf/ imports, relative imports resolved (`from .. import x` gives both the package
    and `package.x`)."""
    package = ["c2ser_hf", *path.relative_to(ROOT / "c2ser_hf").parts[:-1]]
    for module, level, names, _ in imports(path):
        base = ".".join(package[: len(package) - level + 1]) if level else ""
        target = ".".join(part for part in (base, module) if part)
        yield target
        yield from (f"{target}.{name}" for name in names)


def test_data_users_import_neither_the_cot_builder_nor_the_converter():
    """Training, corpus runs, the probe and Emotion2Vec-S pretraining get their data from c2ser_hf/dataset_io.py and
    their light-folder writer from modeling/light_checkpoint.py, not from cot/ or convert_c2ser."""
    wrong = []
    for folder in ("training", "corpus", "probe", "emotion2vec_training"):
        for path in python_files(f"c2ser_hf/{folder}"):
            wrong += [f"{path.relative_to(ROOT)}: {target}" for target in absolute_imports(path)
                      if target.startswith(("c2ser_hf.cot", "c2ser_hf.convert_c2ser"))]
    assert not wrong, wrong


# the calls that open a dataset or decode one of its audio values
DATASET_IO_CALLS = {"load_dataset", "load_from_disk", "get_dataset_config_names", "AudioDecoder", "get_all_samples",
                    "decode_example"}


def test_datasets_are_opened_and_decoded_in_one_module():
    """Outside c2ser_hf/dataset_io.py, processing/ (audio files) and datasets_scripts/ (the corpus builders), nothing
    opens a dataset or decodes an audio value itself."""
    allowed = {ROOT / "c2ser_hf" / "dataset_io.py"}
    wrong = []
    for path in python_files("c2ser_hf", "modeling", "spaces", "examples"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                if called_name(node) in DATASET_IO_CALLS:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {called_name(node)}(")
    assert not wrong, wrong


def test_the_speech_length_formula_exists_once():
    """Both Hub folders carry speech_lengths.py; processing's is a link to modeling's, and no other file has a copy."""
    modeling, processing = ROOT / "modeling" / "speech_lengths.py", ROOT / "processing" / "speech_lengths.py"
    assert processing.is_symlink() and os.path.samefile(processing, modeling)
    formula = "2 + num_acoustic_tokens + downsampled_lengths(encoder_lengths("
    holders = [path for folder in ("modeling", "processing", "c2ser_hf") for path in (ROOT / folder).rglob("*.py")
               if not path.is_symlink() and formula in path.read_text(encoding="utf-8")]
    assert holders == [modeling]


FRAMES_HOME = ROOT / "modeling" / "emotion2vec_s_frames.py"
# the released CNN's hop (320 samples) and receptive field (400), as literals; 400 also counts FFT sizes and token
# limits, so it is a copy only on a line about samples, fields or frames
HOP_LITERAL, FIELD_LITERAL = 320, 400
ABOUT_FRAMES = re.compile(r"sample|field|frame", re.I)


def frame_formula_copies(path: Path) -> list[str]:
    """Where a file writes the Emotion2Vec-S frame formula itself instead of calling modeling/emotion2vec_s_frames.py:
    the hop or receptive field as a literal, arithmetic on a receptive field, or the product of all the strides."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Constant) and type(node.value) is int:
            if node.value == HOP_LITERAL or (
                node.value == FIELD_LITERAL and ABOUT_FRAMES.search(lines[node.lineno - 1])
            ):
                found.append(f"{where}: literal {node.value}")
        elif isinstance(node, ast.BinOp):
            operands = (node.left, node.right)
            if any(getattr(o, "attr", None) == "receptive_field" or getattr(o, "id", None) == "receptive_field"
                   for o in operands):
                found.append(f"{where}: arithmetic on receptive_field")
        elif isinstance(node, ast.Call) and called_name(node) == "prod" and node.args and (
            getattr(node.args[0], "attr", None) == "conv_stride" or getattr(node.args[0], "id", None) == "conv_stride"
        ):
            found.append(f"{where}: product of conv_stride")
    return found


def test_the_emotion2vec_s_frame_formula_exists_once():
    """modeling/emotion2vec_s_frames.py derives hop and receptive field from a config's CNN, processing/ links to it,
    and no other file of the package, the Space, the benches or the examples writes them again."""
    from c2ser_hf.modeling import Emotion2VecSConfig
    from c2ser_hf.modeling.emotion2vec_s_frames import receptive_field_samples, samples_for_frames

    link = ROOT / "processing" / FRAMES_HOME.name
    assert link.is_symlink() and os.path.samefile(link, FRAMES_HOME)
    config = Emotion2VecSConfig()
    assert (config.inputs_to_logits_ratio, config.receptive_field, config.samples_for_frames(10)) == (320, 400, 3280)
    assert receptive_field_samples(Emotion2VecSConfig(conv_dim=[8, 8], conv_kernel=[4, 3], conv_stride=[2, 2])) == 8
    assert samples_for_frames(0) == samples_for_frames(1) == 400
    copies = [copy for path in python_files(*CODE_FOLDERS) if path != FRAMES_HOME
              for copy in frame_formula_copies(path)]
    assert not copies, copies


@pytest.mark.parametrize("planted", [
    "FIRST_FRAME_SAMPLES, FRAME_HOP_SAMPLES = 400, 320",
    "frames = (samples - 400) // 320 + 1",
    "def make(min_samples=400):\n    return min_samples",
    "extractor = dict(min_samples=400)",
    "used = (count - 1) * hop + config.receptive_field",
    "import math\nhop = math.prod(config.conv_stride)",
])
def test_the_frame_formula_check_catches_a_copy(tmp_path, planted):
    path = tmp_path / "planted.py"
    path.write_text(planted + "\n", encoding="utf-8")
    assert frame_formula_copies(path)
    # a token limit, an FFT size and the per-layer strides of a FLOP count are not the formula
    path.write_text("generate(max_new_tokens=400, n_fft=400)\nmath.prod(config.conv_stride[:2])\n", encoding="utf-8")
    assert not frame_formula_copies(path)
