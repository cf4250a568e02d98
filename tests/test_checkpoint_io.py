"""Reading official checkpoints: a compressed record that would inflate out of proportion is refused from the sizes the
archive declares (before anything is inflated), a legacy pickle is named as such, and a missing tensor is named
alone."""

import io
import subprocess
import sys
import zipfile

import pytest
import torch

from c2ser_hf.checkpoint_io import UnsafeCheckpointError, load_pickled_checkpoint
from c2ser_hf.cli import main
from c2ser_hf.convert_emotion2vec import ConversionError, convert_emotion2vec

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf

BOMB_FLOATS = 50_000_000  # 200 MB of zeros, deflated to about 200 kB


def deflated_bomb(path):
    """torch.save's archive of a 200 MB zero tensor, every record deflated: a small file that inflates 1000-fold."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(BOMB_FLOATS)}, buffer)
    source = zipfile.ZipFile(buffer)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in source.infolist():
            archive.writestr(record.filename, source.read(record.filename))
    return path


PEAK_AROUND_LOAD = """
import resource, sys
from c2ser_hf.checkpoint_io import UnsafeCheckpointError, load_pickled_checkpoint
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_pickled_checkpoint(sys.argv[1])
except UnsafeCheckpointError as error:
    print(error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_deflated_oversize_record_is_refused_before_it_is_inflated(tmp_path):
    bomb = deflated_bomb(tmp_path / "bomb.pt")
    size = bomb.stat().st_size
    with pytest.raises(UnsafeCheckpointError, match=rf"bomb\.pt: record archive/data/0 declares {4 * BOMB_FLOATS} bytes "
                                                    r"compressed into \d+; refusing to inflate it"):
        load_pickled_checkpoint(bomb)
    run = subprocess.run([sys.executable, "-c", PEAK_AROUND_LOAD, str(bomb)], capture_output=True, text=True)
    message, growth = run.stdout.strip().splitlines()
    print(f"{size / 1e3:.0f} kB file declaring {4 * BOMB_FLOATS / 1e6:.0f} MB: peak RSS grew {growth} MB while refusing")
    assert "refusing to inflate it" in message and int(growth) < 50


def test_legacy_and_foreign_files_are_named_for_what_they_are(tmp_path, capsys):
    torch.save({"model": {"w": torch.zeros(3)}}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match=r"legacy\.pt: legacy format .*: re-save with torch\.save"):
        load_pickled_checkpoint(tmp_path / "legacy.pt")
    (tmp_path / "notes.pt").write_text("just text")
    with pytest.raises(UnsafeCheckpointError, match=r"notes\.pt: not a torch checkpoint"):
        load_pickled_checkpoint(tmp_path / "notes.pt")
    status = main(["convert", "emotion2vec", "--checkpoint", str(tmp_path / "legacy.pt"), "--out",
                   str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "legacy format" in err and "re-save with torch.save" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", [
    "blocks.0.norm1.weight",  # once counted the layers: its loss hid the whole layer
    "modality_encoders.AUDIO.context_encoder.blocks.0.norm1.weight",
    "modality_encoders.AUDIO.local_encoder.conv_layers.3.0.weight",
    "modality_encoders.AUDIO.extra_tokens",
    "modality_encoders.AUDIO.alibi_scale",
    "blocks.1.mlp.fc2.bias",
])
def test_a_missing_tensor_is_named_alone(tmp_path, key):
    conf = tiny_conf()
    save_fairseq(build_funasr_model(conf, seed=2), conf, tmp_path / "checkpoint.pt")
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    del checkpoint["model"][key]
    torch.save(checkpoint, tmp_path / "checkpoint.pt")
    with pytest.raises(ConversionError) as caught:
        convert_emotion2vec(tmp_path / "checkpoint.pt", tmp_path / "out")
    message = str(caught.value)
    assert f"'{key}'" in message and message.count("'") == 2, message
