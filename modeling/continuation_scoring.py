"""Answer scoring for C2SER: the likelihood of given continuations after each item's prompt + speech, and the seven
emotion probabilities built from them (docs/fidelity.md#emotion-scores).

A mixin of `C2SERForConditionalGeneration`: it needs only the model's forward (`self(...)` with a cache) and its
generation config's pad id, so scoring can change (speed, batching) without touching the architecture.
"""

import copy

import torch


def _common_prefix(sequences: list[list[int]]) -> list[int]:
    shortest = min(sequences, key=len)
    for length, token in enumerate(shortest):
        if any(sequence[length] != token for sequence in sequences):
            return shortest[:length]
    return list(shortest)


class ContinuationScoringMixin:
    @torch.no_grad()
    def score_continuations(self, continuations: list[list[int]], chunk_size: int = 8, **inputs) -> torch.Tensor:
        """Log-likelihood (batch, len(continuations)) of each token sequence following each item's prompt + speech.

        The prompt and speech run once. Continuations that share a leading run of tokens (an answer template before
        the emotion word) share one pass over it; the rest extend copies of the cache, `chunk_size` at a time (the
        vocabulary-wide log-softmax per position bounds memory).
        """
        if not continuations or any(len(c) == 0 for c in continuations):
            raise ValueError("continuations must be a non-empty list of non-empty token id lists")
        prefix = self(**inputs, use_cache=True, logits_to_keep=1)
        mask = inputs["attention_mask"]
        state = (prefix.cache, mask, mask.long().sum(-1), prefix.logits[:, -1].float().log_softmax(-1))
        return self._score_from(state, continuations, chunk_size)

    def _extend(self, state, tokens: list[int]):
        """Run `tokens` after every item of `state` (cache, mask, next position, next-token log-probs); returns the
        summed log-probability of the tokens and the state after them."""
        cache, mask, next_position, next_logprobs = state
        batch, device = mask.shape[0], mask.device
        ids = torch.tensor(tokens, device=device).repeat(batch, 1)
        mask = torch.cat([mask, torch.ones_like(ids)], dim=1)
        logprobs = self(
            input_ids=ids,
            attention_mask=mask,
            position_ids=next_position[:, None] + torch.arange(len(tokens), device=device),
            cache=copy.deepcopy(cache),
        )
        total = next_logprobs[:, tokens[0]]
        step = logprobs.logits.float().log_softmax(-1)
        total = total + step[:, :-1].gather(-1, ids[:, 1:, None])[..., 0].sum(-1)
        return total, (logprobs.cache, mask, next_position + len(tokens), step[:, -1])

    def _score_from(self, state, continuations: list[list[int]], chunk_size: int) -> torch.Tensor:
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
            shared_score, after = self._extend(state, shared)
            rests = {i: continuations[i][len(shared) :] for i in members}
            ended = [i for i, rest in rests.items() if not rest]
            scores[:, ended] = shared_score[:, None]
            going = [i for i, rest in rests.items() if rest]
            if going:
                scores[:, going] = shared_score[:, None] + self._score_from(after, [rests[i] for i in going], chunk_size)

        pad = self.generation_config.pad_token_id or 0
        for start in range(0, len(separate), chunk_size):
            members = separate[start : start + chunk_size]
            count, width = len(members), max(len(continuations[i]) for i in members)
            ids = torch.full((count, width), pad, dtype=torch.long, device=device)
            real = torch.zeros(count, width, dtype=torch.long, device=device)
            for row, i in enumerate(members):
                ids[row, : len(continuations[i])] = torch.tensor(continuations[i], device=device)
                real[row, : len(continuations[i])] = 1
            chunk_cache = copy.deepcopy(cache)
            chunk_cache.reorder_cache(torch.arange(batch, device=device).repeat_interleave(count))
            logits = self(
                input_ids=ids.repeat(batch, 1),
                attention_mask=torch.cat([mask.repeat_interleave(count, 0), real.repeat(batch, 1)], dim=1),
                position_ids=next_position.repeat_interleave(count)[:, None] + torch.arange(width, device=device),
                cache=chunk_cache,
            ).logits.float()
            # token j > 0 is predicted at continuation position j - 1; token 0 by the state's next-token log-probs
            later = logits[:, :-1].log_softmax(-1).gather(-1, ids.repeat(batch, 1)[:, 1:, None])[..., 0]
            later = (later * real.repeat(batch, 1)[:, 1:]).sum(-1).view(batch, count)
            scores[:, members] = next_logprobs.gather(1, ids[:, 0].repeat(batch, 1)) + later
        return scores

    @torch.no_grad()
    def emotion_probabilities(
        self, candidate_emotions: list[int], candidates: list[list[int]], chunk_size: int = 8, **inputs
    ) -> torch.Tensor:
        """(batch, emotions) probabilities: per emotion, the log-sum-exp of its candidate answers' likelihoods
        (every wording, both languages), then a softmax over emotions. The processor's `emotion_candidates()`
        gives both lists; columns follow its emotion order."""
        if len(candidate_emotions) != len(candidates):
            raise ValueError(f"{len(candidate_emotions)} emotion indices for {len(candidates)} candidates")
        scores = self.score_continuations(candidates, chunk_size=chunk_size, **inputs)
        owner = torch.tensor(candidate_emotions, device=scores.device)
        per_emotion = torch.stack(
            [scores[:, owner == emotion].logsumexp(-1) for emotion in range(int(owner.max()) + 1)], dim=-1
        )
        return per_emotion.softmax(-1)


__all__ = ["ContinuationScoringMixin"]
