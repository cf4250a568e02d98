"""Speech embeddings computed once (`get_audio_features`) serve any number of prompts: scores with the implicit
prompt and an answer with the explicit one run the encoders once per batch, with the results of running them apart.

Two windows of different lengths (the shorter one left-padded), on the tiny random C2SER."""

import pytest
import torch
from transformers import pipeline

from c2ser_hf.inference import run_inference
from c2ser_hf.pipeline import SpeechEmotionRecognitionPipeline
from encoder_calls import EncoderCalls

SAMPLES = [16000, 12000]
SEARCHES = {
    "greedy": {"num_beams": 1, "do_sample": False, "repetition_penalty": 1.0},
    "beam": {"num_beams": 2, "do_sample": False},
    "official": {"decoding": "official"},
}
AUDIO_INPUTS = ("input_features", "feature_attention_mask", "input_values", "input_values_mask")


@pytest.fixture(scope="module")
def model(tester):
    return tester.model(seed=2)


def apart(model, tester, search, max_new_tokens=5):
    """The explicit answer and the implicit scores, each from its own processor call with the audio features."""
    clips = tester.clips(SAMPLES)
    with torch.no_grad():
        sequences = model.generate(**tester.processor(clips, mode="explicit"), max_new_tokens=max_new_tokens, **search)
        probabilities = model.emotion_probabilities(*tester.processor.emotion_candidates(),
                                                    **tester.processor(clips, mode="implicit"))
    return tester.processor.post_process(sequences), tester.processor.label_scores(probabilities)


@pytest.mark.parametrize("name", SEARCHES)
def test_model_takes_the_speech_embeddings_for_any_prompt(model, tester, name):
    """`generate` and `emotion_probabilities` given `get_audio_features`' output: the same tokens and probabilities
    as given the audio features, and no encoder runs in them."""
    search = SEARCHES[name]
    inputs = tester.inputs(SAMPLES, mode="explicit")
    with torch.no_grad():
        reference = model.generate(**inputs, max_new_tokens=6, **search)
        scores = model.emotion_probabilities(*tester.processor.emotion_candidates(), **tester.inputs(SAMPLES))
        speech = model.get_audio_features(**{key: inputs[key] for key in AUDIO_INPUTS})
        calls = EncoderCalls(model)
        found = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], **speech,
                               max_new_tokens=6, **search)
        implicit = tester.inputs(SAMPLES)
        probabilities = model.emotion_probabilities(
            *tester.processor.emotion_candidates(), input_ids=implicit["input_ids"],
            attention_mask=implicit["attention_mask"], **speech
        )
        calls.remove()
    diff = (probabilities - scores).abs().max().item()
    print(f"{name}: emotion probabilities from speech embeddings vs audio features: max abs diff = {diff:.2e}")
    assert speech.speech_embeddings.shape[0] == 2 and speech.speech_block_lengths.tolist()[0] > \
        speech.speech_block_lengths.tolist()[1]
    assert calls.count == 0
    assert torch.equal(found, reference), (found, reference)
    assert diff <= 1e-6


@pytest.mark.parametrize("name", SEARCHES)
def test_explained_scores_run_each_encoder_once_per_batch(model, tester, name):
    """`run_inference(mode="explicit", scores=True)`: each encoder runs once for the batch of two windows (twice
    before: once per prompt), and the answers and scores equal those computed apart."""
    search = SEARCHES[name]
    calls = EncoderCalls(model)
    results = run_inference(model, tester.processor, tester.clips(SAMPLES), mode="explicit", scores=True,
                            max_new_tokens=5, **search)
    calls.remove()
    assert calls.count == 2
    answers, scores = apart(model, tester, search)
    for result, answer, score in zip(results, answers, scores):
        (window,) = result["windows"]
        assert window["text"] == answer["text"], (window["text"], answer["text"])
        diff = max(abs(window["scores"][emotion] - score[emotion]) for emotion in score)
        print(f"{name}: {result['file']}: scores vs apart: max abs diff = {diff:.2e}")
        assert diff <= 1e-6


def test_decoding_steps_get_no_speech_embeddings(model, tester):
    """The speech embeddings reach the prefill only, as the audio features do: on a decoding step a generated
    placeholder id stays a token like any other."""
    inputs = tester.inputs(SAMPLES, mode="explicit")
    with torch.no_grad():
        speech = model.get_audio_features(**{key: inputs[key] for key in AUDIO_INPUTS})
    for search in (SEARCHES["greedy"], SEARCHES["official"]):
        given = []
        hook = model.register_forward_pre_hook(
            lambda _, args, kwargs: given.append(kwargs.get("speech_embeddings") is not None), with_kwargs=True
        )
        with torch.no_grad():
            model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], **speech,
                           max_new_tokens=4, min_new_tokens=4, **search)
        hook.remove()
        assert given[0] and not any(given[1:]) and len(given) >= 4, given


def test_pipeline_explanation_runs_each_encoder_once(model, tester):
    """The pipeline's `explain=True`: scores and explanation from one run of each encoder per batch of windows."""
    classifier = pipeline("speech-emotion-recognition", model=model, processor=tester.processor,
                          pipeline_class=SpeechEmotionRecognitionPipeline)
    clip = tester.clips([SAMPLES[0]])[0]
    calls = EncoderCalls(model)
    result = classifier(clip, explain=True, max_new_tokens=5, **SEARCHES["greedy"])
    calls.remove()
    assert calls.count == 2
    with torch.no_grad():
        sequences = model.generate(**tester.processor(clip, mode="explicit"), max_new_tokens=5, **SEARCHES["greedy"])
    assert result["explanation"] == tester.processor.post_process(sequences)[0]["text"]


def test_speech_given_twice_or_half_is_one_line(model, tester):
    inputs = tester.inputs(SAMPLES)
    with torch.no_grad():
        speech = model.get_audio_features(**{key: inputs[key] for key in AUDIO_INPUTS})
        with pytest.raises(ValueError, match="either as audio features or as speech_embeddings, not both"):
            model(**inputs, **speech)
        with pytest.raises(ValueError, match="without speech_block_lengths"):
            model(input_ids=inputs["input_ids"], speech_embeddings=speech.speech_embeddings)
