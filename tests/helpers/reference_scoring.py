"""The continuation scoring that `modeling/continuation_scoring.py` held before its prefix-tree rewrite, kept as the
reference the new scoring must equal: the prompt and speech run once; continuations sharing a first token extend a
deep copy of the cache through their common run; the rest run in chunks on further copies, reordered per item."""

import copy

import torch


def _common_prefix(sequences):
    shortest = min(sequences, key=len)
    for length, token in enumerate(shortest):
        if any(sequence[length] != token for sequence in sequences):
            return shortest[:length]
    return list(shortest)


@torch.no_grad()
def reference_scores(model, continuations, chunk_size=8, **inputs):
    """(batch, len(continuations)) log-likelihoods, as the released scoring of this package computed them."""
    prefix = model(**inputs, use_cache=True, logits_to_keep=1)
    mask = inputs["attention_mask"]
    state = (prefix.cache, mask, mask.long().sum(-1), prefix.logits[:, -1].float().log_softmax(-1))
    return _score_from(model, state, continuations, chunk_size)


@torch.no_grad()
def reference_probabilities(model, candidate_emotions, candidates, **inputs):
    scores = reference_scores(model, candidates, **inputs)
    owner = torch.tensor(candidate_emotions)
    return torch.stack([scores[:, owner == e].logsumexp(-1) for e in range(int(owner.max()) + 1)], -1).softmax(-1)


def _extend(model, state, tokens):
    cache, mask, next_position, next_logprobs = state
    batch, device = mask.shape[0], mask.device
    ids = torch.tensor(tokens, device=device).repeat(batch, 1)
    mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
    out = model(input_ids=ids, attention_mask=mask,
                position_ids=next_position[:, None] + torch.arange(len(tokens), device=device),
                cache=copy.deepcopy(cache))
    step = out.logits.float().log_softmax(-1)
    total = next_logprobs[:, tokens[0]] + step[:, :-1].gather(-1, ids[:, 1:, None])[..., 0].sum(-1)
    return total, (out.cache, mask, next_position + len(tokens), step[:, -1])


def _score_from(model, state, continuations, chunk_size):
    cache, mask, next_position, next_logprobs = state
    batch, device = mask.shape[0], mask.device
    scores = torch.empty(batch, len(continuations), device=device)
    groups = {}
    for index, tokens in enumerate(continuations):
        groups.setdefault(tokens[0], []).append(index)
    separate = []
    for members in groups.values():
        if len(members) < 2:
            separate += members
            continue
        shared = _common_prefix([continuations[i] for i in members])
        shared_score, after = _extend(model, state, shared)
        rests = {i: continuations[i][len(shared):] for i in members}
        ended = [i for i, rest in rests.items() if not rest]
        scores[:, ended] = shared_score[:, None]
        going = [i for i, rest in rests.items() if rest]
        if going:
            scores[:, going] = shared_score[:, None] + _score_from(model, after, [rests[i] for i in going], chunk_size)
    pad = model.generation_config.pad_token_id or 0
    for start in range(0, len(separate), chunk_size):
        members = separate[start:start + chunk_size]
        count, width = len(members), max(len(continuations[i]) for i in members)
        ids = torch.full((count, width), pad, dtype=torch.long, device=device)
        real = torch.zeros(count, width, dtype=torch.long, device=device)
        for row, i in enumerate(members):
            ids[row, :len(continuations[i])] = torch.tensor(continuations[i], device=device)
            real[row, :len(continuations[i])] = 1
        chunk_cache = copy.deepcopy(cache)
        chunk_cache.reorder_cache(torch.arange(batch, device=device).repeat_interleave(count))
        logits = model(input_ids=ids.repeat(batch, 1),
                       attention_mask=torch.cat([mask.repeat_interleave(count, 0), real.repeat(batch, 1)], dim=1),
                       position_ids=next_position.repeat_interleave(count)[:, None]
                       + torch.arange(width, device=device),
                       cache=chunk_cache).logits.float()
        later = logits[:, :-1].log_softmax(-1).gather(-1, ids.repeat(batch, 1)[:, 1:, None])[..., 0]
        later = (later * real.repeat(batch, 1)[:, 1:]).sum(-1).view(batch, count)
        scores[:, members] = next_logprobs.gather(1, ids[:, 0].repeat(batch, 1)) + later
    return scores
