"""C2SER decoding: named presets, a repetition penalty on generated tokens only, the released model's decoder
(docs/fidelity.md#generation).

- The released model generates from embeddings alone, so its repetition penalty (1.05) sees only the tokens it
  generates. Our `generate` gets the prompt and the speech placeholders as ids; the stock penalty would count them
  too, so it is replaced by transformers' `RepetitionPenaltyLogitsProcessor` told to skip the prompt.
- Its decoder is transformers 4.44 beam *sampling* with `top_p=0`, `top_k=0`: each beam keeps its top-2 tokens, and
  drawing 2 × beams candidates without replacement takes every live one, then ranks them by score. That is a
  deterministic beam search over each beam's top-2 tokens. Transformers 5 rewrote beam search, and its rule for
  stopping differs (it compares the finished hypotheses with the best running beam, 4.44 with the best candidate,
  finished or not), so the 4.44 loop is written here as `official_beam_search`; the top-2 restriction is
  transformers' `TopKLogitsWarper`.
"""

import copy

import torch
from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TopKLogitsWarper
from transformers.generation.utils import GenerateBeamDecoderOnlyOutput

# `generate(decoding=...)`: how to search; lengths and end tokens stay the generation config's (C2SER's: at most 400
# new tokens, `<|endoftext|>`), and generation arguments override a preset's values
DECODING_PRESETS = {
    "greedy": {"num_beams": 1, "do_sample": False},
    "beam": {"num_beams": 4, "do_sample": False},
    # the released model's `generate` call (4.44 defaults made explicit: length_penalty 1, early_stopping False)
    "official": {
        "num_beams": 4,
        "do_sample": False,
        "repetition_penalty": 1.05,
        "length_penalty": 1.0,
        "early_stopping": False,
    },
}
# 4.44 starts beams 2..n at this score so that the first step's candidates all come from the first beam
UNSTARTED_BEAM_SCORE = -1e9


def _token_ids(value) -> list[int]:
    return [] if value is None else [int(value)] if isinstance(value, int) else [int(v) for v in value]


def generation_arguments(model, input_ids, generation_config, logits_processor, decoding, kwargs) -> dict:
    """Keyword arguments for `GenerationMixin.generate` that apply `decoding` (default: the generation config's
    `decoding` attribute; none: the generation config as it is) and move the repetition penalty onto the generated
    tokens: the stock processor is switched off and one that skips the `input_ids` prompt takes its place."""
    config = generation_config if generation_config is not None else model.generation_config
    decoding = decoding if decoding is not None else getattr(config, "decoding", None)
    if decoding is not None and decoding not in DECODING_PRESETS:
        raise ValueError(f"decoding must be one of {tuple(DECODING_PRESETS)}, got {decoding!r}")
    settings = {**DECODING_PRESETS.get(decoding, {}), **kwargs}

    def setting(name):
        return settings[name] if name in settings else getattr(config, name, None)

    processors = LogitsProcessorList(logits_processor or [])
    penalty = setting("repetition_penalty")
    if penalty is not None and penalty != 1.0:
        prompt_length = 0 if input_ids is None else input_ids.shape[-1]
        processors.append(RepetitionPenaltyLogitsProcessor(float(penalty), prompt_ignore_length=prompt_length))
    settings["repetition_penalty"] = 1.0
    custom_generate = None
    if decoding == "official" and (setting("num_beams") or 1) > 1:
        if setting("do_sample"):
            raise ValueError("decoding='official' is deterministic; beam sampling is decoding='beam', do_sample=True")
        # 4.44 keeps 1 + (number of end tokens) tokens per beam: its top-p of 0 keeps only that minimum
        processors.append(TopKLogitsWarper(top_k=1 + len(_token_ids(setting("eos_token_id")))))
        custom_generate = official_beam_search
    if generation_config is not None:  # settings go into a copy, not beside it (transformers warns about both)
        generation_config = copy.deepcopy(generation_config)
        settings = generation_config.update(**settings)
    return {"generation_config": generation_config, "logits_processor": processors,
            "custom_generate": custom_generate, **settings}


class FinishedHypotheses:
    """The best `size` finished hypotheses of one item, scored sum of log-probabilities / length ** penalty, kept as
    4.44 keeps them (a new one enters when there is room or it beats the worst; the worst then leaves)."""

    def __init__(self, size: int, length_penalty: float):
        self.size, self.length_penalty = size, length_penalty
        self.entries, self.worst = [], 1e9

    def add(self, tokens: torch.Tensor, score_sum: float, length: int) -> None:
        score = score_sum / length**self.length_penalty
        if len(self.entries) >= self.size and score <= self.worst:
            return
        self.entries.append((score, tokens))
        if len(self.entries) > self.size:
            del self.entries[min(range(len(self.entries)), key=lambda i: self.entries[i][0])]
            self.worst = min(score for score, _ in self.entries)
        else:
            self.worst = min(score, self.worst)

    def is_done(self, best_score_sum: float, length: int) -> bool:
        """Full, and no candidate could beat the worst hypothesis even ending at this `length` (4.44's heuristic)."""
        return len(self.entries) >= self.size and self.worst >= best_score_sum / length**self.length_penalty

    def best(self, count: int) -> list:
        return sorted(self.entries, key=lambda entry: entry[0])[::-1][:count]


def official_beam_search(model, input_ids, logits_processor, stopping_criteria, generation_config, **model_kwargs):
    """The released model's beam search as transformers 4.44 runs it; `generate` calls it (as `custom_generate`)
    with the inputs, cache, processors and stopping criteria prepared.

    Per step: log-softmax, the processors (repetition penalty, top-2 per beam), plus each beam's score; the
    (1 + end tokens) × beams best candidates in score order. An end-of-text candidate among the first `num_beams`
    finishes a hypothesis (its length counts the end token); the others fill the next beams, best first. An item is
    done when it has `num_beams` hypotheses and the best candidate, at its length, cannot beat the worst of them;
    at the length limit the running beams join the hypotheses. The best hypothesis is returned, with the prompt."""
    if generation_config.early_stopping is not False:
        raise ValueError("decoding='official' implements early_stopping=False, the released setting")
    num_beams, keep = generation_config.num_beams, generation_config.num_return_sequences or 1
    if keep > num_beams:
        raise ValueError(f"num_return_sequences ({keep}) must be at most num_beams ({num_beams})")
    batch, prompt_length, device = input_ids.shape[0] // num_beams, input_ids.shape[1], input_ids.device
    end_tokens = _token_ids(generation_config.eos_token_id)
    if not end_tokens:
        raise ValueError("decoding='official' needs an end-of-text token (generation_config.eos_token_id)")
    pad = generation_config.pad_token_id if generation_config.pad_token_id is not None else end_tokens[0]
    width = max(2, 1 + len(end_tokens)) * num_beams
    finished = [FinishedHypotheses(num_beams, generation_config.length_penalty) for _ in range(batch)]
    done = [False] * batch
    beam_scores = torch.zeros(batch, num_beams, device=device)
    beam_scores[:, 1:] = UNSTARTED_BEAM_SCORE
    step_scores = [] if generation_config.return_dict_in_generate and generation_config.output_scores else None

    outputs = model._prefill(input_ids, generation_config, model_kwargs)
    while True:
        model_kwargs = model._update_model_kwargs_for_generation(outputs, model_kwargs)
        logits = outputs.logits[:, -1].to(dtype=torch.float32, device=device)
        log_probs = logits_processor(input_ids, torch.log_softmax(logits, dim=-1))
        if step_scores is not None:
            step_scores.append(log_probs)
        vocab = log_probs.shape[-1]
        scores = (log_probs + beam_scores.view(-1, 1)).view(batch, num_beams * vocab)
        candidate_scores, candidates = scores.topk(width, dim=1)
        length = input_ids.shape[1] + 1 - prompt_length
        next_scores = torch.zeros(batch, num_beams, device=device)
        next_tokens = torch.full((batch, num_beams), pad, dtype=torch.long, device=device)
        next_rows = torch.arange(batch, device=device)[:, None].repeat(1, num_beams) * num_beams
        for item, (item_scores, item_candidates) in enumerate(zip(candidate_scores.tolist(), candidates.tolist())):
            if done[item]:
                continue
            filled = 0
            for rank, (score, candidate) in enumerate(zip(item_scores, item_candidates)):
                row, token = item * num_beams + candidate // vocab, candidate % vocab
                if token in end_tokens:
                    if rank < num_beams:
                        finished[item].add(input_ids[row].clone(), score, length)
                    continue
                next_scores[item, filled], next_tokens[item, filled], next_rows[item, filled] = score, token, row
                filled += 1
                if filled == num_beams:
                    break
            done[item] = finished[item].is_done(item_scores[0], length)
        beam_scores, rows = next_scores, next_rows.view(-1)
        input_ids = torch.cat([input_ids[rows], next_tokens.view(-1, 1)], dim=-1)
        if model_kwargs.get("cache") is not None:
            model_kwargs["cache"].reorder_cache(rows)
        if all(done) or stopping_criteria(input_ids, None).all():
            break
        use_cache = model_kwargs.get("use_cache", True)
        model_inputs = model.prepare_inputs_for_generation(
            input_ids, next_sequence_length=1 if use_cache else None, **model_kwargs
        )
        outputs = model(**model_inputs, return_dict=True)

    for item in range(batch):
        if not done[item]:
            for beam in range(num_beams):
                row = item * num_beams + beam
                finished[item].add(input_ids[row], beam_scores[item, beam].item(), input_ids.shape[1] - prompt_length)
    best = [entry for hypotheses in finished for entry in hypotheses.best(keep)]
    # one end token after each shorter hypothesis, then padding, up to the length limit (as 4.44 lays them out)
    width = min(max(len(tokens) for _, tokens in best) + 1, generation_config.max_length)
    sequences = torch.full((len(best), width), pad, dtype=torch.long, device=device)
    for row, (_, tokens) in enumerate(best):
        sequences[row, : len(tokens)] = tokens
        if len(tokens) < width:
            sequences[row, len(tokens)] = end_tokens[0]
    if not generation_config.return_dict_in_generate:
        return sequences
    return GenerateBeamDecoderOnlyOutput(
        sequences=sequences,
        sequences_scores=torch.tensor([score for score, _ in best], device=device),
        scores=tuple(step_scores) if step_scores is not None else None,
    )


__all__ = ["DECODING_PRESETS", "FinishedHypotheses", "generation_arguments", "official_beam_search"]
