"""`c2ser-hf convert c2ser` on a synthetic checkpoint with the official key layout (tiny shapes, bf16)."""

import subprocess

import numpy as np
import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForMultimodalLM, AutoProcessor

import c2ser_hf  # noqa: F401  (registers the Auto classes)
from c2ser_hf.convert_c2ser import convert_c2ser
from c2ser_hf.convert_emotion2vec import ConversionError

from funasr_emotion2vec import build_funasr_model, save_fairseq, tiny_conf
from upstream_c2ser import build_upstream
from cli_runner import cli_command


@pytest.fixture(scope="module")
def emotion2vec(tmp_path_factory):
    path = tmp_path_factory.mktemp("e2v") / "checkpoint.pt"
    conf = tiny_conf()
    save_fairseq(build_funasr_model(conf, seed=9), conf, path)
    return path


@pytest.fixture(scope="module", params=["peft>=0.7 naming", "older peft naming"])
def converted(request, tmp_path_factory, emotion2vec):
    root = tmp_path_factory.mktemp("c2ser")
    checkpoint, base_dir, llm = build_upstream(root, old_peft_naming=request.param == "older peft naming")
    report = convert_c2ser(checkpoint, emotion2vec, root / "out", base_model=base_dir, llm_dtype=torch.float32)
    return root, checkpoint, llm, report


def test_every_key_is_used_or_dropped_with_a_reason(converted):
    _, _, _, report = converted
    assert report.lora_merged == 2 * 6
    for key in ("embed_tokens.weight", "lm_head.weight", "ln_speech.weight", "speaker_head.weight",
                "speech_token_emded.weight"):
        assert key in report.dropped, key


def test_language_model_equals_base_plus_lora(converted):
    """Merged weights give the logits of the unmerged peft model (scaling alpha / r = 4) on the same bf16 values."""
    root, checkpoint, llm, _ = converted
    upstream = torch.load(checkpoint, weights_only=True)
    reference = llm.eval()
    state = {}
    for key in reference.state_dict():
        source = "llama_model." + key
        state[key] = upstream[source if source in upstream else source.replace(".base_layer.", ".")].float()
    reference.load_state_dict(state, strict=True)
    model = AutoModelForMultimodalLM.from_pretrained(root / "out").eval()
    ids = torch.randint(0, 400, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.lm_head(model.model.language_model(input_ids=ids).last_hidden_state)
        expected = reference(input_ids=ids).logits
    diff = (ours - expected).abs().max().item()
    print(f"merged LLM vs unmerged peft LoRA: logits max abs diff = {diff:.2e}")
    assert diff <= 1e-4


def test_checkpoint_sinusoid_tables_and_fidelity_flags_are_kept(converted):
    root, checkpoint, _, _ = converted
    upstream = torch.load(checkpoint, weights_only=True)
    model = AutoModelForMultimodalLM.from_pretrained(root / "out").eval()
    assert torch.equal(model.model.audio_tower.embed_positions.weight, upstream["encoder.embed.pos_enc.pe"][0].float())
    assert torch.equal(model.model.link.position_table, upstream["speech_transformer.embed.pos_enc.pe"].float())
    assert torch.equal(model.model.speech_boundary.weight, upstream["speech_token_emded.weight"][[4097, 4098]].float())
    assert model.config.acoustic_token_source == "first_frames"
    assert model.model.audio_tower.conv1.weight.dtype == torch.float32
    assert (model.generation_config.num_beams, model.generation_config.repetition_penalty) == (4, 1.05)
    assert model.generation_config.decoding == "official"
    processor = AutoProcessor.from_pretrained(root / "out")
    assert processor.normalize_waveform is False and processor.speech_token_id == model.config.speech_token_id
    assert processor.official_whisper_waveform is True

    clip = np.random.default_rng(0).normal(0, 0.1, 24000).astype(np.float32)
    inputs = processor([clip, clip[:9000]])
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=3, num_beams=1, do_sample=False)
        # the official decoder by default; greedy one argument away
        official = model.generate(**inputs, max_new_tokens=3)
        assert torch.equal(official, model.generate(**inputs, max_new_tokens=3, decoding="official"))
        assert torch.equal(out, model.generate(**inputs, max_new_tokens=3, decoding="greedy"))
    assert out.shape[0] == 2


def test_a_renamed_key_fails_naming_it(tmp_path, emotion2vec):
    checkpoint, base_dir, _ = build_upstream(tmp_path)
    state = torch.load(checkpoint, weights_only=True)
    state["speech_transformer.encoders.1.norm2.wieght"] = state.pop("speech_transformer.encoders.1.norm2.weight")
    torch.save(state, checkpoint)
    with pytest.raises(ConversionError, match=r"encoders\.1\.norm2\.wieght.*encoders\.1\.norm2\.weight"):
        convert_c2ser(checkpoint, emotion2vec, tmp_path / "out", base_model=base_dir)
    assert not (tmp_path / "out").exists()


def test_a_missing_tensor_is_named_alone(tmp_path, emotion2vec):
    checkpoint, base_dir, _ = build_upstream(tmp_path)
    state = torch.load(checkpoint, weights_only=True)
    layer = "llama_model.base_model.model.model.layers.0."
    for key in ("encoder.encoders.0.norm1.weight", "speech_transformer.encoders.1.norm1.weight",
                f"{layer}input_layernorm.weight", f"{layer}self_attn.v_proj.base_layer.weight",
                f"{layer}mlp.gate_proj.lora_B.default.weight", "encoder.embed.pos_enc.pe"):
        torch.save({k: v for k, v in state.items() if k != key}, tmp_path / "missing.pt")
        with pytest.raises(ConversionError) as caught:
            convert_c2ser(tmp_path / "missing.pt", emotion2vec, tmp_path / "out", base_model=base_dir)
        assert f"'{key}'" in str(caught.value) and str(caught.value).count("'") == 2, str(caught.value)
    assert not (tmp_path / "out").exists()


def test_cli_convert_c2ser(tmp_path, emotion2vec):
    checkpoint, base_dir, _ = build_upstream(tmp_path, seed=1)
    result = subprocess.run(
        [*cli_command("convert"), "c2ser", "--checkpoint", str(checkpoint), "--emotion2vec",
         str(emotion2vec), "--base-model", str(base_dir), "--out", str(tmp_path / "out"), "--merge-lora"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "merged 12 LoRA" in result.stdout and "speaker_head.weight" in result.stdout
    stored = {}
    for shard in (tmp_path / "out").glob("*.safetensors"):
        with safe_open(shard, "pt") as handle:
            stored.update({key: handle.get_slice(key).get_dtype() for key in handle.keys()})
    assert stored["model.language_model.embed_tokens.weight"] == "BF16" and stored["lm_head.weight"] == "BF16"
    # the rest keeps the checkpoint's own dtype (bf16 in the release), lossless; loading upcasts it to fp32
    assert stored["model.audio_tower.conv1.weight"] == "BF16" and stored["model.link.position_table"] == "BF16"
    loaded = AutoModelForMultimodalLM.from_pretrained(tmp_path / "out", dtype="auto")
    assert loaded.model.audio_tower.conv1.weight.dtype == torch.float32
    assert loaded.model.language_model.embed_tokens.weight.dtype == torch.bfloat16


@pytest.fixture(scope="module")
def light_and_merged(tmp_path_factory, emotion2vec):
    root = tmp_path_factory.mktemp("light")
    checkpoint, base_dir, _ = build_upstream(root, seed=2)
    merged = convert_c2ser(checkpoint, emotion2vec, root / "merged", base_model=base_dir, llm_dtype=torch.float32)
    light = convert_c2ser(checkpoint, emotion2vec, root / "light", base_model=base_dir, light=True,
                          llm_dtype=torch.float32)
    assert (merged.lora_merged, light.lora_adapter) == (12, 12)
    return root, base_dir


def test_light_checkpoint_holds_only_the_trained_parts(light_and_merged):
    root, base_dir = light_and_merged
    with safe_open(root / "light" / "model.safetensors", "pt") as handle:
        keys = list(handle.keys())
    assert keys and not any(k.startswith(("model.language_model.", "lm_head.")) for k in keys)
    assert (root / "light" / "adapter_model.safetensors").is_file()
    light_bytes = sum(p.stat().st_size for p in (root / "light").glob("*.safetensors"))
    merged_bytes = sum(p.stat().st_size for p in (root / "merged").glob("*.safetensors"))
    print(f"light checkpoint: {light_bytes / 1e6:.1f} MB vs merged {merged_bytes / 1e6:.1f} MB")
    assert light_bytes < merged_bytes


def test_light_and_merged_give_the_same_logits_and_tokens(light_and_merged):
    root, _ = light_and_merged
    merged = AutoModelForMultimodalLM.from_pretrained(root / "merged").eval()
    light = AutoModelForMultimodalLM.from_pretrained(root / "light", dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(root / "light")
    clip = np.random.default_rng(3).normal(0, 0.1, 20000).astype(np.float32)
    inputs = processor([clip, clip[:7000]])
    with torch.no_grad():
        diff = (merged(**inputs).logits[:, -1] - light(**inputs).logits[:, -1]).abs().max().item()
        settings = dict(max_new_tokens=6, num_beams=1, do_sample=False)
        same = torch.equal(merged.generate(**inputs, **settings), light.generate(**inputs, **settings))
    print(f"light vs merged: first-step logits max abs diff = {diff:.2e}")
    assert diff <= 1e-4 and same


def test_peft_loads_the_light_adapter_onto_the_base(light_and_merged):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    root, base_dir = light_and_merged
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(base, root / "light").eval()
    light = AutoModelForMultimodalLM.from_pretrained(root / "light", dtype=torch.float32)
    ids = torch.randint(0, 400, (1, 10), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits
        ours = light.lm_head(light.model.language_model(input_ids=ids).last_hidden_state)
    assert (ours - expected).abs().max().item() <= 1e-4


def test_fine_tuning_a_converted_light_model_continues_its_adapter(light_and_merged):
    """The starting point `c2ser-hf train --model_name_or_path` makes of the converted release: its own LoRA (rank,
    alpha, targets) on the unmerged base language model, trainable, computing what the converted model computes."""
    from c2ser_hf.training import C2SERModelArguments, load_starting_point

    root, base_dir = light_and_merged
    start = load_starting_point(C2SERModelArguments(model_name_or_path=str(root / "light")))
    lora = start.model.peft_config["default"]
    assert (lora.r, lora.lora_alpha, start.base_model) == (8, 32, str(base_dir))
    assert any(p.requires_grad for n, p in start.model.named_parameters() if ".lora_B." in n)
    processor = AutoProcessor.from_pretrained(root / "light")
    inputs = processor([np.random.default_rng(4).normal(0, 0.1, 16000).astype(np.float32)])
    light = AutoModelForMultimodalLM.from_pretrained(root / "light", dtype=torch.float32)
    with torch.no_grad():
        diff = (start.model.eval()(**inputs).logits - light(**inputs).logits).abs().max().item()
    print(f"training starting point (adapter unmerged) vs converted light model (merged): max abs diff {diff:.2e}")
    assert diff <= 1e-4


def test_light_refuses_a_base_model_that_differs(tmp_path, emotion2vec):
    checkpoint, base_dir, _ = build_upstream(tmp_path, seed=3)
    from transformers import AutoModelForCausalLM

    other = AutoModelForCausalLM.from_pretrained(base_dir)
    with torch.no_grad():
        other.model.layers[1].mlp.up_proj.weight.add_(0.01)
    other.save_pretrained(base_dir)
    with pytest.raises(ConversionError, match=r"differs from .*layers\.1\.mlp\.up_proj\.weight"):
        convert_c2ser(checkpoint, emotion2vec, tmp_path / "out", base_model=base_dir, light=True)
    assert not (tmp_path / "out").exists()


LIGHT_REMOTE_SCRIPT = """
import torch
from transformers import AutoModelForMultimodalLM

model = AutoModelForMultimodalLM.from_pretrained(sys.argv[1], trust_remote_code=True, dtype=torch.float32).eval()
inputs = torch.load(sys.argv[2])
with torch.no_grad():
    torch.save(model(**inputs).logits[:, -1], sys.argv[3])
print(type(model).__module__)
"""


def test_light_loads_with_remote_code_where_the_package_is_absent(light_and_merged, tmp_path):
    from test_helpers import run_without_package

    root, _ = light_and_merged
    processor = AutoProcessor.from_pretrained(root / "light")
    clip = np.random.default_rng(4).normal(0, 0.1, 12000).astype(np.float32)
    inputs = dict(processor([clip, clip[:5000]]))
    torch.save(inputs, tmp_path / "inputs.pt")
    result = run_without_package(LIGHT_REMOTE_SCRIPT, [root / "light", tmp_path / "inputs.pt", tmp_path / "out.pt"],
                                  tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout
    merged = AutoModelForMultimodalLM.from_pretrained(root / "merged").eval()
    with torch.no_grad():
        expected = merged(**inputs).logits[:, -1]
    assert (torch.load(tmp_path / "out.pt") - expected).abs().max().item() <= 1e-4


def test_sharded_output_loads_like_a_single_file(tmp_path, emotion2vec):
    checkpoint, base_dir, _ = build_upstream(tmp_path, seed=6)
    convert_c2ser(checkpoint, emotion2vec, tmp_path / "one", base_model=base_dir, llm_dtype=torch.float32)
    convert_c2ser(checkpoint, emotion2vec, tmp_path / "many", base_model=base_dir, llm_dtype=torch.float32,
                  max_shard_bytes=200_000)
    shards = sorted(p.name for p in (tmp_path / "many").glob("model-*.safetensors"))
    assert len(shards) > 3 and (tmp_path / "many" / "model.safetensors.index.json").is_file()
    one = AutoModelForMultimodalLM.from_pretrained(tmp_path / "one").state_dict()
    many = AutoModelForMultimodalLM.from_pretrained(tmp_path / "many").state_dict()
    assert one.keys() == many.keys() and all(torch.equal(one[k], many[k]) for k in one)


def test_converted_folder_has_a_model_card(converted):
    root, _, _, _ = converted
    card = (root / "out" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "## Architecture" in card and "c2ser-hf" in card


def test_a_pickle_that_runs_code_is_refused(tmp_path, emotion2vec):
    from c2ser_hf.checkpoint_io import UnsafeCheckpointError

    class Exploit:
        def __reduce__(self):
            return (print, ("this ran",))

    torch.save({"encoder.embed.conv.0.weight": torch.zeros(1), "note": Exploit()}, tmp_path / "C2SER_llm.pt")
    with pytest.raises(UnsafeCheckpointError, match="builtins.print"):
        convert_c2ser(tmp_path / "C2SER_llm.pt", emotion2vec, tmp_path / "out", base_model=tmp_path / "base")
    assert not (tmp_path / "out").exists()
