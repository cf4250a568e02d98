"""Decoding: the released model's decoder against a hand-written copy of the loop it ran (transformers 4.44 beam
sampling, top_p 0, top_k 0, repetition penalty 1.05 on generated tokens), and the penalty sparing the prompt.

Models run in float64 so that our cached decoding and the reference's full recomputation give the same float32
log-probabilities; ties between paths would otherwise decide tokens on a random model."""

import math

import numpy as np
import pytest
import torch
from transformers import GenerationMixin, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper

from c2ser_hf.evaluation.decoding import DECODINGS
from c2ser_hf.modeling.generation_c2ser import DECODING_PRESETS
from c2ser_hf.new_model import build_random_c2ser
from encoder_calls import EncoderCalls

PENALTY = 1.05


def upstream_decode(model, prefix, max_new_tokens, eos, num_beams=4, seed=0):
    """The released model's decoding of one item, written from transformers 4.44's beam sampling as its `generate`
    call configures it: `inputs_embeds=prefix` only (so `input_ids`, and the repetition penalty, hold generated
    tokens only), num_beams 4, do_sample, top_p 0 / top_k 0 (each beam keeps its top-2), length_penalty 1,
    early_stopping False. Sampling draws 2 × beams candidates without replacement, live ones and arbitrary
    zero-probability ones, then sorts them: as upstream, `torch.multinomial` draws them here. No cache: every step
    runs the whole sequence. Returns the generated tokens, ending with `eos` when it ended before the limit."""
    torch.manual_seed(seed)
    language_model, embed = model.model.language_model, model.get_input_embeddings()
    generated = torch.zeros(num_beams, 0, dtype=torch.long)
    beam_scores = torch.tensor([0.0] + [-1e9] * (num_beams - 1))
    finished, worst, done = [], 1e9, False

    def finish(tokens, score_sum, length):
        nonlocal worst
        score = score_sum / length
        if len(finished) < num_beams or score > worst:
            finished.append((score, tokens))
            if len(finished) > num_beams:
                ranked = sorted((s, i) for i, (s, _) in enumerate(finished))
                finished.pop(ranked[0][1])
                worst = ranked[1][0]
            else:
                worst = min(worst, score)

    while True:
        embeds = torch.cat([prefix.expand(num_beams, -1, -1), embed(generated)], dim=1)
        with torch.no_grad():
            logits = model.lm_head(language_model(inputs_embeds=embeds).last_hidden_state[:, -1]).float()
        scores = logits.log_softmax(-1)
        if generated.shape[1]:
            seen = scores.gather(1, generated)
            scores = scores.scatter(1, generated, torch.where(seen < 0, seen * PENALTY, seen / PENALTY))
        order = scores.argsort(dim=-1, descending=True)
        kept = torch.full_like(scores, -math.inf).scatter(1, order[:, :2], scores.gather(1, order[:, :2]))
        total = (kept + beam_scores[:, None]).view(-1)
        picks = torch.multinomial(total.softmax(-1), 2 * num_beams)
        picked, rank_order = total[picks].sort(descending=True)
        picks, vocab, length = picks[rank_order], scores.shape[-1], generated.shape[1] + 1
        rows, tokens, next_scores = [], [], []
        for rank, (score, pick) in enumerate(zip(picked.tolist(), picks.tolist())):
            beam, token = divmod(pick, vocab)
            if token == eos:
                if rank < num_beams:
                    finish(generated[beam].tolist(), score, length)
                continue
            rows, tokens, next_scores = rows + [beam], tokens + [token], next_scores + [score]
            if len(rows) == num_beams:
                break
        done = done or (len(finished) >= num_beams and worst >= picked[0].item() / length)
        generated = torch.cat([generated[rows], torch.tensor(tokens)[:, None]], dim=1)
        beam_scores = torch.tensor(next_scores)
        if done or generated.shape[1] >= max_new_tokens:
            break
    if not done:
        for beam in range(num_beams):
            finish(generated[beam].tolist(), beam_scores[beam].item(), generated.shape[1])
    best = sorted(finished, key=lambda entry: entry[0])[-1][1]
    return best + [eos] if len(best) < max_new_tokens else best


def prefix_embeddings(model, processor, audio):
    """What upstream feeds its language model: the prompt's embeddings, then the speech block."""
    inputs = processor(audio)
    ids = inputs["input_ids"]
    with torch.no_grad():
        speech, _ = model.model.get_speech_embeddings(
            inputs["input_features"], inputs["feature_attention_mask"], inputs["input_values"],
            inputs["input_values_mask"],
        )
        embeds = model.get_input_embeddings()(ids)
    return embeds.masked_scatter((ids == processor.speech_token_id)[..., None], speech.to(embeds.dtype))


def answers(sequences, prompt_length, eos):
    """Generated tokens per row, up to and including the first end token."""
    rows = [row[prompt_length:].tolist() for row in sequences]
    return [row[: row.index(eos) + 1] if eos in row else row for row in rows]


def clips(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.1, n).astype(np.float32) for n in rng.integers(6000, 26000, count)]


# ---------------------------------------------------------------- the official decoder on a random model


@pytest.fixture(scope="module")
def decoder():
    """The tiny random C2SER, sharpened (lm_head × 12) so that beams diverge, with its end token made to compete: the
    end row gains END_PULL times the mean final hidden state of greedy decoding (over its squared norm), so that the
    end logit rises where a position leans that way and hypotheses finish at various lengths."""
    model, processor = build_random_c2ser("tiny")
    model = model.double()
    audio = clips(6)
    inputs = processor(audio)
    with torch.no_grad():
        model.lm_head.weight.mul_(12.0)
        greedy = model.generate(**inputs, decoding="greedy", max_new_tokens=MAX_NEW, return_dict_in_generate=True,
                                output_hidden_states=True)
        states = torch.cat([step[-1][:, -1] for step in greedy.hidden_states])
        mean = states.mean(0)
        model.lm_head.weight[processor.eos_token_id] += END_PULL * mean / mean.norm() ** 2
    return model, processor, audio, inputs


MAX_NEW, END_PULL = 16, 3.5


def test_official_decoder_equals_the_upstream_loop_token_for_token(decoder):
    model, processor, audio, inputs = decoder
    eos, prompt_length = processor.eos_token_id, inputs["input_ids"].shape[1]
    ours = answers(model.generate(**inputs, decoding="official", max_new_tokens=MAX_NEW), prompt_length, eos)
    settings = dict(num_beams=4, do_sample=False, max_new_tokens=MAX_NEW, repetition_penalty=1.0)
    penalty = RepetitionPenaltyLogitsProcessor(PENALTY, prompt_ignore_length=prompt_length)
    # transformers 5's own beam search with the same candidates (top-2 per beam) and penalty: its stopping rule differs
    stock = answers(model.generate(**inputs, logits_processor=[penalty, TopKLogitsWarper(2)], **settings),
                    prompt_length, eos)
    plain = answers(model.generate(**inputs, decoding="beam", max_new_tokens=MAX_NEW), prompt_length, eos)
    references = [upstream_decode(model, prefix_embeddings(model, processor, clip), MAX_NEW, eos, seed=i)
                  for i, clip in enumerate(audio)]
    print(f"\nanswer lengths {[len(r) for r in references]}; transformers 5 beam search with top-2 differs on "
          f"{sum(s != r for s, r in zip(stock, references))}, plain beam search on "
          f"{sum(p != r for p, r in zip(plain, references))} of {len(audio)} clips")
    assert ours == references
    assert any(len(r) < MAX_NEW for r in references) and any(len(r) == MAX_NEW for r in references)
    assert any(p != r for p, r in zip(plain, references))
    # the reference's arbitrary zero-probability draws never change its answer
    assert upstream_decode(model, prefix_embeddings(model, processor, audio[0]), MAX_NEW, eos, seed=99) == references[0]


# ---------------------------------------------------------------- constructed cases on a bigram language model

SPEECH_END = "speech end"


@pytest.fixture(scope="module")
def tokens():
    """The tiny tokenizer's end token and the ids of the implicit prompt, as the processor writes it."""
    _, processor = build_random_c2ser("tiny")
    ids = processor(clips(1)[0])["input_ids"][0]
    return processor.eos_token_id, sorted(set(ids[ids != processor.speech_token_id].tolist()))


def bigram_model(table: dict):
    """The tiny C2SER (float64) with a language model that sees only the current token: attention and MLP outputs
    are zeroed, so the final hidden state is the current input's embedding, made one-hot per state; `lm_head` then
    reads `table[state][token]` as the logit of `token` (30 is added, so listed tokens dwarf the unlisted ones, whose
    logit is 0). States are token ids, or SPEECH_END for the speech block's last position (where decoding starts)."""
    model, processor = build_random_c2ser("tiny")
    model = model.double()
    language_model = model.model.language_model
    hidden = language_model.config.hidden_size
    with torch.no_grad():
        for layer in language_model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        language_model.norm.weight.fill_(1.0)
        model.lm_head.weight.zero_()
        for state, (token, logits) in enumerate(table.items()):
            one_hot = torch.zeros(hidden, dtype=torch.float64)
            one_hot[state] = 10.0
            if token == SPEECH_END:
                model.model.speech_boundary.weight[1] = one_hot
            else:
                language_model.embed_tokens.weight[token] = one_hot
            for successor, logit in logits.items():
                # RMSNorm turns the one-hot into sqrt(hidden) on its state
                model.lm_head.weight[successor, state] = (logit + 30.0) / math.sqrt(hidden)
    return model, processor


def test_official_decoder_never_takes_a_beams_third_best_token_where_plain_beam_search_does(tokens):
    """From the speech block the top tokens are A, B, C. A and B lead to eight fillers of about 1/8 each, C straight
    to the end: plain 4-beam search keeps C (its first beam's third-best token) and answers "C <end>"; the released
    decoder only ever sees each beam's top two tokens, so it answers through A or B, as the upstream loop does."""
    eos = tokens[0]
    a, b, c, fillers = 100, 101, 102, list(range(110, 118))
    spread = {token: -0.1 * rank for rank, token in enumerate(fillers)}
    model, processor = bigram_model({SPEECH_END: {a: 0.0, b: -0.2, c: -0.4}, a: spread, b: spread, c: {eos: 0.0},
                                     **{token: {eos: 0.0} for token in fillers}})
    audio = clips(1)[0]
    inputs = processor(audio)
    prompt_length = inputs["input_ids"].shape[1]
    official = answers(model.generate(**inputs, decoding="official", max_new_tokens=8), prompt_length, eos)[0]
    plain = answers(model.generate(**inputs, decoding="beam", max_new_tokens=8), prompt_length, eos)[0]
    print(f"\nofficial {official}, plain 4-beam {plain}")
    assert plain == [c, eos]
    reference = upstream_decode(model, prefix_embeddings(model, processor, audio), 8, eos)
    assert official == reference == [a, fillers[0], eos]


def test_official_decoder_keeps_going_where_transformers_5_beam_search_stops(tokens):
    """A table found by search: from B the end token is the best candidate while the best running beam cannot beat
    the worst finished answer. transformers 4.44 (the released decoder) compares the finished answers with the best
    candidate and goes on, reaching a longer, better-scoring answer; transformers 5's beam search, given the same
    top-2 candidates and penalty, compares them with the best running beam and stops."""
    eos = tokens[0]
    a, b, c = 100, 102, 101
    model, processor = bigram_model({
        SPEECH_END: {a: 0.7, eos: 0.1, 106: 0.1, 105: -0.8, 107: -0.7},
        a: {b: 5.7, a: 1.2, 105: 0.7, eos: 0.15, c: -0.4},
        b: {eos: 3.6, a: 3.5, c: 3.35, 103: 2.7, 107: 2.6},
    })
    audio = clips(1)[0]
    inputs = processor(audio)
    prompt_length = inputs["input_ids"].shape[1]
    ours = model.generate(**inputs, decoding="official", max_new_tokens=12, return_dict_in_generate=True,
                          output_scores=True)
    penalty = RepetitionPenaltyLogitsProcessor(PENALTY, prompt_ignore_length=prompt_length)
    stock = model.generate(**inputs, logits_processor=[penalty, TopKLogitsWarper(2)], num_beams=4, do_sample=False,
                           max_new_tokens=12, repetition_penalty=1.0, return_dict_in_generate=True, output_scores=True)
    print(f"\nofficial {ours.sequences_scores.item():.4f} {answers(ours.sequences, prompt_length, eos)[0]}, "
          f"transformers 5 {stock.sequences_scores.item():.4f} {answers(stock.sequences, prompt_length, eos)[0]}")
    reference = upstream_decode(model, prefix_embeddings(model, processor, audio), 12, eos)
    assert answers(ours.sequences, prompt_length, eos)[0] == reference == [a, b] * 6
    assert answers(stock.sequences, prompt_length, eos)[0] == [a, b] * 4 + [eos]
    assert ours.sequences_scores.item() > stock.sequences_scores.item()


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam", "official"])
def test_repetition_penalty_spares_prompt_ids_and_penalises_generated_ones(mode, tokens):
    """The top token is the prompt's first token P (and stays on top): at step 0 its score, and every prompt and
    placeholder id's, is the unpenalised one; once generated, P is penalised (logits ÷ 1.05 in greedy and sampling,
    log-probabilities × 1.05 in beam modes, as transformers applies the penalty). The stock processor, which
    `generate` replaces, penalises P at step 0 already."""
    prompt_ids = tokens[1]
    top = prompt_ids[0]
    model, processor = bigram_model({SPEECH_END: {top: 0.0, 300: -8.0}, top: {top: 0.0, 300: -8.0}})
    inputs = processor(clips(1)[0])
    prompt_length = inputs["input_ids"].shape[1]
    settings = {"greedy": dict(decoding="greedy"), "sample": dict(decoding="greedy", do_sample=True),
                "beam": dict(decoding="beam"), "official": dict(decoding="official")}[mode]

    def scores(penalty, generate=model.generate, **chosen):
        torch.manual_seed(0)
        out = generate(**inputs, **(chosen or settings), max_new_tokens=2, repetition_penalty=penalty,
                       return_dict_in_generate=True, output_scores=True)
        assert out.sequences[0, prompt_length].item() == top
        return out.scores

    penalised, free = scores(PENALTY), scores(1.0)
    spared = prompt_ids + [processor.speech_token_id]
    assert torch.equal(penalised[0][:, spared], free[0][:, spared])
    factor = PENALTY if mode in ("beam", "official") else 1 / PENALTY
    assert free[1][0, top] != 0 and torch.isclose(penalised[1][0, top], free[1][0, top] * factor, rtol=1e-6)
    if mode == "greedy":
        stock = scores(PENALTY, lambda **kwargs: GenerationMixin.generate(model, **kwargs), num_beams=1)
        assert torch.isclose(stock[0][0, top], free[0][0, top] / PENALTY, rtol=1e-6)


def test_decoding_names_and_conflicts_are_refused_in_one_line():
    assert DECODINGS == tuple(DECODING_PRESETS)  # the evaluate CLI lists the names without importing torch
    model, processor = build_random_c2ser("tiny")
    inputs = processor(clips(1)[0])
    with pytest.raises(ValueError, match="decoding must be one of"):
        model.generate(**inputs, decoding="nucleus")
    with pytest.raises(ValueError, match="deterministic"):
        model.generate(**inputs, decoding="official", do_sample=True)


def test_presets_choose_the_search_and_leave_lengths_and_explicit_arguments_alone():
    model, processor = build_random_c2ser("tiny")
    inputs = processor(clips(1)[0])
    prompt_length = inputs["input_ids"].shape[1]
    model.generation_config.decoding, model.generation_config.max_new_tokens = "official", 5
    by_config = model.generate(**inputs)
    assert by_config.shape[1] <= prompt_length + 5
    assert torch.equal(by_config, model.generate(**inputs, decoding="official", max_new_tokens=5))
    assert torch.equal(model.generate(**inputs, num_beams=1), model.generate(**inputs, decoding="greedy"))


@pytest.fixture(scope="module")
def continued(tester):
    return tester.model(seed=2), tester.inputs([16000, 12000])


GREEDY = {"num_beams": 1, "do_sample": False, "repetition_penalty": 1.0}


def test_generation_continued_from_its_cache_equals_one_uninterrupted_generation(continued):
    """As transformers' continue-from-cache test: 3 tokens, then 2 more from the returned cache with the same speech
    inputs (merged on the first step only: the encoders do not run again), equal 5 tokens in one go."""
    model, inputs = continued
    with torch.no_grad():
        whole = model.generate(**inputs, max_new_tokens=5, **GREEDY)
        first = model.generate(**inputs, max_new_tokens=3, return_dict_in_generate=True, **GREEDY)
        calls = EncoderCalls(model)
        grown = torch.ones(first.sequences.shape[0], first.sequences.shape[1] - inputs["input_ids"].shape[1],
                           dtype=inputs["attention_mask"].dtype)
        again = model.generate(**{**inputs, "input_ids": first.sequences,
                                  "attention_mask": torch.cat([inputs["attention_mask"], grown], dim=1)},
                               past_key_values=first.cache, max_new_tokens=2, **GREEDY)
        calls.remove()
    assert torch.equal(again, whole), (again, whole)
    assert calls.count == 0


@pytest.mark.parametrize("search", [GREEDY, {"num_beams": 3, "do_sample": False}, {"decoding": "official"}])
def test_scores_and_an_answer_share_one_prefill(tester, continued, search):
    """`emotion_probabilities(..., cache=...)` keeps its prefill; `generate` goes on from it: the encoders run once,
    and the probabilities and the answer equal those computed apart."""
    from transformers import DynamicCache

    model, inputs = continued
    candidates = tester.processor.emotion_candidates()
    with torch.no_grad():
        apart = model.emotion_probabilities(*candidates, **inputs), model.generate(**inputs, max_new_tokens=6,
                                                                                    **search)
        calls = EncoderCalls(model)
        cache = DynamicCache(config=model.config.text_config)
        probabilities = model.emotion_probabilities(*candidates, **inputs, cache=cache)
        answer = model.generate(**inputs, cache=cache, max_new_tokens=6, **search)
        calls.remove()
    diff = (probabilities - apart[0]).abs().max().item()
    print(f"emotion probabilities with the prefill kept vs without: max abs diff = {diff:.2e}")
    assert calls.count == 2  # one call of each encoder
    assert diff <= 1e-6 and torch.equal(answer, apart[1])


def test_run_inference_answers_from_the_scores_prefill(tester, continued):
    """`run_inference(mode="implicit", scores=True)`: one prefill (each encoder once per batch) serves the scores and
    the answer, which equal those of separate runs."""
    from c2ser_hf.inference import run_inference

    model, _ = continued
    clips = tester.clips([16000, 12000])
    calls = EncoderCalls(model)
    both = run_inference(model, tester.processor, clips, mode="implicit", scores=True, max_new_tokens=4, **GREEDY)
    calls.remove()
    answers = run_inference(model, tester.processor, clips, mode="implicit", max_new_tokens=4, **GREEDY)
    scores = run_inference(model, tester.processor, clips, mode=None, scores=True)
    assert calls.count == 2
    for joint, answer, score in zip(both, answers, scores):
        (window,) = joint["windows"]
        assert window["text"] == answer["windows"][0]["text"] and window["scores"] == score["windows"][0]["scores"]
        assert window["emotion"] == score["windows"][0]["emotion"]
