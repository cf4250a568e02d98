"""The explicit/implicit schedule, the collator that builds both variants of a batch, and the shipped recipes."""

import io
import math

import numpy as np
import pytest
import soundfile as sf

from c2ser_hf.processing import C2SERProcessor
from c2ser_hf.processing.processing_c2ser import IGNORE_INDEX, PROMPTS
from c2ser_hf.tiny_tokenizer import build_tiny_qwen2_tokenizer
from c2ser_hf.training import (RECIPES, SCHEDULES, CoTCollator, choose_explicit, explicit_probability, parse_recipe,
                               select_variant)
from c2ser_hf.dataset_io import decode_audio
from c2ser_hf.training.collator import AUDIO_KEYS


def test_linear_schedule_falls_from_one_to_zero_over_the_run():
    assert [explicit_probability("linear", step, 5) for step in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert explicit_probability("linear", 0, 1) == 1.0


def test_other_schedules_by_name():
    assert [explicit_probability("explicit", s, 10) for s in (0, 9)] == [1.0, 1.0]
    assert [explicit_probability("implicit", s, 10) for s in (0, 9)] == [0.0, 0.0]
    assert explicit_probability("cosine", 0, 11) == 1.0 and explicit_probability("cosine", 10, 11) == 0.0
    assert math.isclose(explicit_probability("cosine", 5, 11), 0.5)
    assert [explicit_probability("step", s, 10) for s in (0, 4, 5, 9)] == [1.0, 1.0, 0.0, 0.0]
    assert explicit_probability("constant", 3, 10, constant=0.3) == 0.3
    assert set(SCHEDULES) == {"explicit", "implicit", "linear", "cosine", "step", "constant"}
    with pytest.raises(ValueError, match="cot_schedule 'linearr' is not one of"):
        explicit_probability("linearr", 0, 10)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        explicit_probability("constant", 0, 10, constant=1.5)


def test_choices_depend_only_on_seed_step_and_micro_batch():
    draws = [choose_explicit(7, step, micro, 0.5) for step in range(200) for micro in range(2)]
    assert draws == [choose_explicit(7, step, micro, 0.5) for step in range(200) for micro in range(2)]
    assert draws != [choose_explicit(8, step, micro, 0.5) for step in range(200) for micro in range(2)]
    assert 0.4 < np.mean(draws) < 0.6
    assert all(choose_explicit(7, s, 0, 1.0) for s in range(100))
    assert not any(choose_explicit(7, s, 0, 0.0) for s in range(100))


@pytest.fixture(scope="module")
def processor():
    return C2SERProcessor(tokenizer=build_tiny_qwen2_tokenizer())


def _rows():
    rng = np.random.default_rng(0)
    clip = (0.1 * rng.normal(size=16000)).astype(np.float32)
    encoded = io.BytesIO()
    sf.write(encoded, clip[:12000], 16000, format="WAV")
    return [
        {"id": "a", "audio": {"array": clip, "sampling_rate": 16000},
         "explicit_target": "The speaker spoke quickly, with a high-pitched tone: \"We won!\" Based on the speech "
                            "features, the emotion was inferred to be happiness.",
         "implicit_target": "The emotion of this speech is happiness."},
        {"id": "b", "audio": {"bytes": encoded.getvalue(), "path": None},
         "explicit_target": "说话者以缓慢的速度说道：“我不想再说了。”通过分析语音特征，推测情绪为悲伤。",
         "implicit_target": "这条语音的情感为悲伤"},
    ]


def test_collator_builds_both_variants_through_the_processor(processor):
    rows = _rows()
    batch = CoTCollator(processor)(rows)
    waves = [decode_audio(row["audio"], row["id"]) for row in rows]
    for variant in ("explicit", "implicit"):
        expected = processor(waves, mode=variant, targets=[r[f"{variant}_target"] for r in rows])
        chosen = select_variant(batch, explicit=variant == "explicit")
        assert set(chosen) == {*AUDIO_KEYS, "input_ids", "attention_mask", "labels"}
        for key in chosen:
            assert np.array_equal(np.asarray(chosen[key]), np.asarray(expected[key])), (variant, key)
        for i, row in enumerate(rows):
            ids, mask, labels = (np.asarray(chosen[k][i]) for k in ("input_ids", "attention_mask", "labels"))
            trained = labels != IGNORE_INDEX
            # -100 on padding, prompt and speech: the labels are exactly the target tokens + <|endoftext|>, at the end
            target = processor.tokenizer(row[f"{variant}_target"], add_special_tokens=False)["input_ids"]
            assert labels[trained].tolist() == target + [processor.eos_token_id]
            assert trained[-trained.sum():].all() and (ids[trained] == labels[trained]).all()
            assert not trained[mask == 0].any() and not trained[ids == processor.speech_token_id].any()
            prompt = processor.tokenizer(PROMPTS[variant], add_special_tokens=False)["input_ids"]
            assert ids[mask == 1][: len(prompt)].tolist() == prompt
    assert np.asarray(batch["explicit"]["input_ids"]).shape[1] > np.asarray(batch["implicit"]["input_ids"]).shape[1]


def test_collator_names_a_missing_column(processor):
    rows = _rows()
    del rows[1]["implicit_target"]
    with pytest.raises(ValueError, match=r"row 'b': no column implicit_target; training needs audio, "):
        CoTCollator(processor)(rows)


def test_names_kept_light_for_the_command_equal_the_shipped_files():
    from c2ser_hf.commands import train
    from c2ser_hf.training.recipes import LAUNCH_CONFIGS

    assert train.RECIPES == RECIPES and train.LAUNCH_CONFIGS == LAUNCH_CONFIGS


def test_recipes_reproduce_the_paper(tmp_path):
    assert RECIPES == ("stage1_explicit", "stage2_implicit")
    for recipe, schedule in (("stage1_explicit", "explicit"), ("stage2_implicit", "linear")):
        data, training, model = parse_recipe(["--config", recipe, "--model_name_or_path", "m", "--output_dir",
                                              str(tmp_path), "--use_cpu", "true"])
        assert training.cot_schedule == schedule
        assert (model.lora_r, model.lora_alpha, model.lora_dropout) == (8, 32, 0.1)
        assert model.lora_target_modules == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"]
        assert model.trained_modules == ["audio_tower", "downsampler", "link", "projector", "speech_boundary"]
        assert (training.learning_rate, training.adam_beta1, training.adam_beta2) == (5e-5, 0.9, 0.99)
        assert (training.weight_decay, training.warmup_steps, training.max_grad_norm) == (0.01, 0.15, 5.0)
        assert training.lr_scheduler_type == "inverse_sqrt"  # wenet's WarmupLR
        assert training.bf16 and training.gradient_checkpointing and model.dtype == "bfloat16"
        assert training.save_format == "light" and not training.remove_unused_columns


def test_any_field_is_set_on_the_command_line(tmp_path):
    data, training, model = parse_recipe([
        "--config", "stage2_implicit", "--model_name_or_path", "m", "--output_dir", str(tmp_path),
        "--learning_rate", "1e-4", "--neftune_noise_alpha", "5", "--lora_r", "16", "--dataset_streaming", "true",
        "--cot_schedule", "cosine", "--use_cpu", "true"])
    assert (training.learning_rate, training.neftune_noise_alpha, training.cot_schedule) == (1e-4, 5.0, "cosine")
    assert model.lora_r == 16 and data.dataset_streaming


@pytest.mark.parametrize("argv, message", [
    (["--lora_rank", "4"], "Some specified arguments are not used"),
    (["--cot_schedule", "linearr"], "cot_schedule 'linearr' is not one of"),
    (["--save_format", "zip"], "save_format must be one of"),
    (["--whisper", "w"], "give model_name_or_path or the parts (whisper), not both"),
])
def test_bad_fields_are_named(tmp_path, argv, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_recipe(["--config", "stage2_implicit", "--model_name_or_path", "m", "--output_dir", str(tmp_path),
                      "--use_cpu", "true", *argv])


def test_parts_must_all_be_given(tmp_path):
    with pytest.raises(ValueError, match="missing emotion2vec, language_model"):
        parse_recipe(["--config", "stage1_explicit", "--whisper", "w", "--output_dir", str(tmp_path),
                      "--use_cpu", "true"])
