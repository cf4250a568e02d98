"""C2SERProcessor with the real WhisperFeatureExtractor and the tiny offline Qwen2 tokenizer; audio made here."""

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import AutoProcessor, AutoTokenizer, Qwen2Tokenizer, WhisperFeatureExtractor

from audio_fixtures import tone
from test_helpers import run_without_package
import c2ser_hf  # noqa: F401  (registers AutoProcessor)
from c2ser_hf.processing.audio_input import AudioInputError, to_mono_16k
from c2ser_hf.processing.processing_c2ser import PROMPTS, C2SERProcessor
from c2ser_hf.tiny_tokenizer import CORPUS, build_tiny_qwen2_tokenizer

LENGTHS = (65621, 23456, 4000)  # docs/fidelity.md#sequence-layout: 65621 samples → 410 mel frames → 64 positions


def wave(num_samples, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / 16000
    sine = 0.3 * np.sin(2 * np.pi * (180 + 40 * seed) * t)
    return (sine + 0.05 * rng.standard_normal(num_samples)).astype(np.float32)


def whisper():
    return WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, n_fft=400, hop_length=160)


def upstream_log_mel(samples):
    """docs/fidelity.md#front-end, written out: wenet's log-mel of one utterance, (80, N // 160)."""
    spectrum = torch.stft(torch.from_numpy(samples), 400, 160, window=torch.hann_window(400), return_complex=True)
    power = spectrum[..., :-1].abs() ** 2
    mel = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)) @ power
    log = mel.clamp(min=1e-10).log10()
    log = torch.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).numpy()


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_qwen2_tokenizer()


@pytest.fixture(scope="module")
def processor(tokenizer):
    return C2SERProcessor(whisper(), tokenizer)


@pytest.fixture(scope="module")
def batch(processor):
    return processor([wave(n, seed=i) for i, n in enumerate(LENGTHS)])


def ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def real_ids(batch, i):
    return batch["input_ids"][i][batch["attention_mask"][i].bool()].tolist()


def test_tiny_tokenizer_round_trips_and_has_the_special_tokens(tokenizer):
    assert len(tokenizer) <= 512
    for text in CORPUS + ["Ünïcödé 🙂 text the corpus never saw", "情绪为悲伤。"]:
        assert tokenizer.decode(ids(tokenizer, text)) == text
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>" and tokenizer.bos_token is None
    for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|speech|>"):
        assert ids(tokenizer, f"a{token}b")[1] == tokenizer.convert_tokens_to_ids(token)
        assert token in tokenizer.all_special_tokens


def test_log_mel_is_whisper_without_padding_and_matches_upstream(processor):
    samples = wave(65621)
    features = processor(samples)["input_features"][0].numpy()
    direct = whisper()(samples, sampling_rate=16000, padding="do_not_pad", return_tensors="np")["input_features"][0]
    assert features.shape == (80, 410)
    assert np.array_equal(features, direct)
    diff = np.abs(features - upstream_log_mel(samples)).max()
    print(f"log-mel vs upstream formula (torch.stft + librosa mel), 410 frames: max abs diff {diff:.3e}")
    assert diff <= 1e-6


def test_speech_lengths_formula(processor):
    assert processor.speech_lengths(410) == 64 and processor.speech_lengths(3000) == 387
    assert processor.speech_lengths([1, 2, 8, 9, 1139]) == [13, 13, 13, 14, 155]
    assert processor.speech_lengths(torch.tensor([410, 3000])).tolist() == [64, 387]


def test_batch_layout_left_padded_with_placeholders_per_item(processor, tokenizer, batch):
    mel_lengths = [n // 160 for n in LENGTHS]
    prompt = ids(tokenizer, PROMPTS["implicit"])
    speech_id, pad_id = processor.speech_token_id, tokenizer.pad_token_id
    counts = (batch["input_ids"] == speech_id).sum(-1).tolist()
    assert counts == processor.speech_lengths(mel_lengths) and counts[0] == 64
    lengths = [len(prompt) + count for count in counts]
    assert batch["input_ids"].shape == (3, max(lengths)) and batch["input_ids"].dtype == torch.int64
    for i, length in enumerate(lengths):
        padding = max(lengths) - length
        assert batch["attention_mask"][i].tolist() == [0] * padding + [1] * length
        assert batch["input_ids"][i, :padding].tolist() == [pad_id] * padding
        assert real_ids(batch, i) == prompt + [speech_id] * counts[i]
    assert "labels" not in batch


def test_feature_and_waveform_masks_and_per_item_equality(processor, batch):
    mel_lengths = [n // 160 for n in LENGTHS]
    assert batch["input_features"].shape == (3, 80, max(mel_lengths))
    assert batch["input_features"].dtype == batch["input_values"].dtype == torch.float32
    assert batch["feature_attention_mask"].sum(-1).tolist() == mel_lengths
    assert batch["input_values"].shape == (3, max(LENGTHS))
    assert batch["input_values_mask"].sum(-1).tolist() == list(LENGTHS)
    for i, (frames, samples) in enumerate(zip(mel_lengths, LENGTHS)):
        single = processor(wave(samples, seed=i))
        assert torch.equal(batch["input_features"][i, :, :frames], single["input_features"][0])
        assert torch.all(batch["input_features"][i, :, frames:] == 0)
        assert batch["feature_attention_mask"][i].tolist() == [1] * frames + [0] * (max(mel_lengths) - frames)
        assert torch.equal(batch["input_values"][i, :samples], torch.from_numpy(wave(samples, seed=i)))
        assert torch.all(batch["input_values"][i, samples:] == 0)
        assert batch["input_values_mask"][i].tolist() == [1] * samples + [0] * (max(LENGTHS) - samples)
        assert real_ids(batch, i) == single["input_ids"][0].tolist()


def test_thirty_seconds_is_the_longest_accepted(processor):
    inputs = processor(wave(480000))
    assert inputs["input_features"].shape == (1, 80, 3000)
    assert int((inputs["input_ids"] == processor.speech_token_id).sum()) == 387
    with pytest.raises(AudioInputError, match=r"^audio\[1\]: 30\.01 s is 3001 mel frames.*split"):
        processor([wave(4000), wave(480160)])


def test_targets_give_labels_on_answer_and_eos_only(processor, tokenizer):
    targets = ["The emotion of this speech is happiness.", "这条语音的情感为生气"]
    inputs = processor([wave(20000), wave(9000, seed=1)], targets=targets)
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    prompt = ids(tokenizer, PROMPTS["implicit"])
    for i, target in enumerate(targets):
        answer = ids(tokenizer, target) + [eos]
        real = inputs["attention_mask"][i].bool()
        count = int((inputs["input_ids"][i] == processor.speech_token_id).sum())
        assert real_ids(inputs, i) == prompt + [processor.speech_token_id] * count + answer
        labels = inputs["labels"][i]
        assert torch.all(labels[~real] == -100)
        assert labels[real].tolist() == [-100] * (len(prompt) + count) + answer
    assert inputs["labels"].shape == inputs["input_ids"].shape
    with pytest.raises(ValueError, match=r"targets: expected a list of 2"):
        processor([wave(5000), wave(6000)], targets=["only one"])
    with pytest.raises(ValueError, match=r"targets\[0\]: expected a non-empty str"):
        processor(wave(5000), targets=[" "])


def test_modes_and_custom_prompts(processor, tokenizer):
    def prompt_text(inputs, i=0):
        real = real_ids(inputs, i)
        return tokenizer.decode(real[: real.index(processor.speech_token_id)])

    samples = wave(8000)
    assert prompt_text(processor(samples)) == PROMPTS["implicit"]
    assert prompt_text(processor(samples, mode="explicit")) == PROMPTS["explicit"]
    assert PROMPTS["implicit"].startswith("Please consider the speaking style, content, and directly provide")
    custom = "请描述这条语音的情感。"
    assert prompt_text(processor(samples, mode=custom)) == custom
    assert prompt_text(processor(samples, text=custom)) == custom
    mixed = processor([samples, wave(5000, seed=1)], mode=["explicit", "What emotion is this?"])
    assert [prompt_text(mixed, 0), prompt_text(mixed, 1)] == [PROMPTS["explicit"], "What emotion is this?"]

    for mode, error, message in [
        (3, TypeError, r"^mode: expected 'implicit', 'explicit' or a prompt string, got int"),
        (["implicit", None], TypeError, r"^mode\[1\]: expected"),
        ("implict", ValueError, r"^mode: 'implict' is not a mode \(did you mean 'implicit'\?\)"),
        ("Explicit", ValueError, r"did you mean 'explicit'"),
        ("  ", ValueError, r"^mode: the prompt is empty"),
        ("Hear <|speech|> this", ValueError, r"speech placeholder"),
        (["implicit"], ValueError, r"^mode: 1 prompts for 2 audio items"),
    ]:
        with pytest.raises(error, match=message):
            processor([samples, samples], mode=mode)
    with pytest.raises(ValueError, match="not both"):
        processor(samples, mode="explicit", text=custom)


def test_audio_features_once_serve_every_prompt_and_target(processor, tokenizer):
    """`__call__` is `audio_features` of the items' `waveforms` and `text_inputs` over them, so any number of prompts
    and targets can share one computation of the audio."""
    items = [wave(n, seed=i) for i, n in enumerate(LENGTHS)]
    pairs = [processor.waveforms(item) for item in items]
    features = processor.audio_features([p[0] for p in pairs], [p[1] for p in pairs])
    targets = ["The emotion of this speech is happiness.", "这条语音的情感为生气", "Angry."]
    for mode, answers in (("implicit", None), ("explicit", targets), ("What emotion is this?", targets[::-1])):
        expected = processor(items, mode=mode, targets=answers)
        text = processor.text_inputs(mode, features, targets=answers)
        assert set(expected) == {*features, *text}
        for key, value in {**features, **text}.items():
            assert value.dtype == expected[key].dtype and torch.equal(value, expected[key]), (mode, key)
    assert processor.text_inputs("explicit", features, return_tensors="np")["input_ids"].dtype == np.int64
    with pytest.raises(ValueError, match=r"^mode: 'implict' is not a mode"):
        processor.text_inputs("implict", features)
    with pytest.raises(ValueError, match=r"^targets: expected a list of 3 strings"):
        processor.text_inputs("implicit", features, targets=targets[:2])


def test_audio_features_refuse_branch_waveforms_that_do_not_match(processor):
    waveforms = [wave(8000), wave(5000, seed=1)]
    with pytest.raises(ValueError, match=r"^whisper_waveforms: expected one waveform per item, as long as the item "
                                         r"\[8000, 5000\], got lengths \[8000, 4999\]"):
        processor.audio_features(waveforms, [waveforms[0], waveforms[1][:-1]])
    with pytest.raises(AudioInputError, match=r"^clip b: 30\.01 s is 3001 mel frames"):
        processor.audio_features([wave(8000), wave(480160)], names=["clip a", "clip b"])


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(0, np.float32), r"^audio\[0\]: is empty"),
        (np.array([0.1, np.nan] * 400, np.float32), r"^audio\[0\]: contains 400 NaN/Inf samples"),
        (np.zeros(3000, np.float32), r"^audio\[0\]: has 3000 samples .* minimum of 3280"),
        ("/no/such/clip.wav", r"^/no/such/clip\.wav: file does not exist"),
    ],
)
def test_bad_audio_is_named(processor, audio, message):
    with pytest.raises(AudioInputError, match=message):
        processor(audio)


def test_stereo_44k_file_and_array(processor, tmp_path):
    path = tone(tmp_path / "stereo.wav", seconds=1.5, rate=44100, channels=2)
    from_file = processor(str(path))
    expected = to_mono_16k(str(path))
    assert from_file["input_values"].shape == (1, len(expected)) and len(expected) == 24000
    assert torch.equal(from_file["input_values"][0], torch.from_numpy(expected))
    assert from_file["input_features"].shape == (1, 80, 150)
    stereo, rate = sf.read(path, dtype="float32")
    from_array = processor(stereo.T, sampling_rate=rate)
    assert from_array["input_features"].shape == (1, 80, 150)
    diff = (from_array["input_values"] - from_file["input_values"]).abs().max()
    print(f"44.1 kHz stereo, array vs file path: max abs diff {diff:.3e}")
    assert diff <= 1e-4


def test_normalize_waveform_layer_norms_real_samples_only(tokenizer):
    items = [wave(9000) + 0.2, 3 * wave(5000, seed=1)]
    normalized = C2SERProcessor(whisper(), tokenizer, normalize_waveform=True)(items)
    plain = C2SERProcessor(whisper(), tokenizer)(items)
    for i, item in enumerate(items):
        expected = torch.nn.functional.layer_norm(torch.from_numpy(item), item.shape)
        assert torch.allclose(normalized["input_values"][i, : len(item)], expected, atol=1e-6)
        assert torch.all(normalized["input_values"][i, len(item) :] == 0)
    assert torch.equal(normalized["input_features"], plain["input_features"])


def test_speech_token_is_added_when_missing():
    bare = Qwen2Tokenizer().train_new_from_iterator([CORPUS[:5]], 300)
    assert "<|speech|>" not in bare.get_vocab()
    processor = C2SERProcessor(whisper(), bare)
    assert bare.convert_tokens_to_ids("<|speech|>") == processor.speech_token_id
    assert "<|speech|>" in bare.all_special_tokens and bare.padding_side == "left"


def test_post_process_parses_emotion_and_cuts_the_prompt(processor, tokenizer):
    eos = tokenizer.eos_token_id
    english = ids(tokenizer, "The emotion of this speech is happiness.") + [eos]
    chinese = ids(tokenizer, "这条语音的情感为生气") + [eos]
    results = processor.post_process([english, chinese])
    assert results == [
        {"text": "The emotion of this speech is happiness.", "emotion": "happiness"},
        {"text": "这条语音的情感为生气", "emotion": "anger"},
    ]
    assert processor.post_process(torch.tensor(english))[0]["emotion"] == "happiness"
    assert processor.post_process([ids(tokenizer, "I have no idea.")]) == [{"text": "I have no idea.", "emotion": None}]
    # what generate() returns: the left-padded prompt and speech block, then the answer
    targets = ["The emotion of this speech is fear.", "这条语音的情感为高兴"]
    inputs = processor([wave(9000), wave(4000, seed=1)], targets=targets)
    assert [r["emotion"] for r in processor.post_process(inputs["input_ids"])] == ["fear", "happiness"]
    kept = processor.post_process([english], skip_special_tokens=False)[0]["text"]
    assert kept == "The emotion of this speech is happiness.<|endoftext|>"
    assert processor.batch_decode([english], skip_special_tokens=True) == ["The emotion of this speech is happiness."]
    assert processor.decode(chinese, skip_special_tokens=True) == "这条语音的情感为生气"


def _saved(folder):
    tokenizer = build_tiny_qwen2_tokenizer()
    # a tokenizer as loaded from a Qwen2 repo: right padding, which save_pretrained omits unless in init_kwargs
    tokenizer.padding_side = "right"
    del tokenizer.init_kwargs["padding_side"]
    processor = C2SERProcessor(
        whisper(), tokenizer, num_acoustic_tokens=3, downsample_rate=2, normalize_waveform=True, max_mel_frames=200
    )
    processor.save_pretrained(folder)
    return processor


def test_save_and_load_keep_settings_and_left_padding(tmp_path):
    saved = _saved(tmp_path)
    # the tokenizer alone, as TRL or generation scripts load it, pads on the left too
    assert AutoTokenizer.from_pretrained(tmp_path).padding_side == "left"
    loaded = C2SERProcessor.from_pretrained(tmp_path)
    for name in ("speech_token", "num_acoustic_tokens", "downsample_rate", "normalize_waveform", "max_mel_frames"):
        assert getattr(loaded, name) == getattr(saved, name), name
    assert type(loaded.feature_extractor) is WhisperFeatureExtractor and type(loaded.tokenizer) is Qwen2Tokenizer
    assert loaded.feature_extractor.to_dict() == saved.feature_extractor.to_dict()
    assert loaded.tokenizer.padding_side == "left" and loaded.speech_token_id == saved.speech_token_id
    items = [wave(12000), wave(5000, seed=1)]
    for key, value in saved(items, targets=["a", "b"]).items():
        assert torch.equal(value, loaded(items, targets=["a", "b"])[key]), key
    with pytest.raises(AudioInputError, match="max_mel_frames=200"):
        loaded(wave(32160))


def test_auto_processor_after_import(tmp_path):
    _saved(tmp_path)
    # importing c2ser_hf registers the processor (unregistered, AutoProcessor silently returns the tokenizer)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is C2SERProcessor and loaded.num_acoustic_tokens == 3


REMOTE_SCRIPT = """
import numpy as np
from transformers import AutoProcessor

processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
inputs = processor(list(np.load(sys.argv[2])), targets=["a", "b"], return_tensors="np")
np.savez(sys.argv[3], **inputs)
print(type(processor).__module__, processor.tokenizer.padding_side, processor.post_process(inputs["input_ids"]))
"""


def test_loads_with_remote_code_where_the_package_is_absent(tmp_path):
    folder = tmp_path / "processor"
    saved = _saved(folder)
    assert {"processing_c2ser.py", "audio_input.py", "emotion_parsing.py", "speech_lengths.py",
            "feature_extraction_emotion2vec_s.py"} <= {p.name for p in folder.glob("*.py")}
    items = np.stack([wave(12000), wave(12000, seed=1)])
    np.save(tmp_path / "waves.npy", items)
    result = run_without_package(REMOTE_SCRIPT, [folder, "waves.npy", "out.npz"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout and " left " in result.stdout
    remote = np.load(tmp_path / "out.npz")
    local = saved(list(items), targets=["a", "b"], return_tensors="np")
    assert sorted(remote.files) == sorted(local.keys())
    for key in remote.files:
        assert np.array_equal(remote[key], local[key]), key
