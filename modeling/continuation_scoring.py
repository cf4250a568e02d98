"""Answer scoring for C2SER: the likelihood of given continuations after each item's prompt + speech, and the seven
emotion probabilities built from them (docs/fidelity.md#emotion-scores).

A mixin of `C2SERForConditionalGeneration`: it needs only the model's forward (`self(...)` with a cache), its backbone
(`base_model`) and its output embeddings, so scoring can change (speed, batching) without touching the architecture.

All candidates form one prefix tree: tokens they share (an answer template before the emotion word) are one node.
After the prompt + speech have run once, every node of the tree that has children runs in ONE forward over that
prefix cache, each node attending to the prefix and to its own ancestors only (a 4-D attention mask) at the position
prefix length + depth, so each node sees exactly the sequence it would see alone. A node's next-token distribution
scores its children; the prefix's last one scores the tree's first tokens. Leaves (the end-of-text that closes every
candidate) are scored but never run. No cache is copied: the tree's keys and values are appended once and dropped.
"""

import torch

# Logits are computed a slice of tree nodes at a time, at most this many (batch row, node, vocabulary) values per
# slice (256 MB in fp32): with Qwen2's 152,064-token vocabulary, about 440 (row, node) pairs.
LOGIT_VALUES_PER_SLICE = 2**26


class _PrefixTree:
    """The continuations as a trie: per node its token, parent (-1 for a first token) and depth; per continuation the
    nodes along its path."""

    def __init__(self, continuations: list[list[int]]):
        self.tokens, self.parents, self.depths, self.paths = [], [], [], []
        node_of = {}
        for continuation in continuations:
            parent, path = -1, []
            for depth, token in enumerate(continuation):
                key = (parent, token)
                if key not in node_of:
                    node_of[key] = len(self.tokens)
                    self.tokens.append(token)
                    self.parents.append(parent)
                    self.depths.append(depth)
                parent = node_of[key]
                path.append(parent)
            self.paths.append(path)
        # every ancestor of a node has a child, so the inner nodes are closed under "ancestor of"
        self.inner = sorted({parent for parent in self.parents if parent >= 0})

    def ancestry(self, device) -> torch.Tensor:
        """(inner, inner) bool: row i is True at inner node i itself and at each of its ancestors."""
        row = {node: i for i, node in enumerate(self.inner)}
        seen = torch.zeros(len(self.inner), len(self.inner), dtype=torch.bool)
        for i, node in enumerate(self.inner):
            while node >= 0:
                seen[i, row[node]] = True
                node = self.parents[node]
        return seen.to(device)


def tree_size(continuations: list[list[int]]) -> int:
    """Tokens that scoring `continuations` runs per item after the prompt + speech: the prefix tree's inner nodes."""
    return len(_PrefixTree(continuations).inner)


class ContinuationScoringMixin:
    @torch.no_grad()
    def score_continuations(self, continuations: list[list[int]], **inputs) -> torch.Tensor:
        """Log-likelihood (batch, len(continuations)) of each token sequence following each item's prompt + speech.

        The prompt and speech run once, then all continuations together as one prefix tree (see the module's
        docstring): the cost is one forward over the tree's distinct tokens, whatever the number of continuations.
        `inputs` are the model's: the processor's output, or its text with `get_audio_features`' speech embeddings
        (computed once for this prompt and another, e.g. an explanation's).

        An empty `cache` given in `inputs` (e.g. `DynamicCache(config=model.config)`) keeps that prefill: it is left
        holding the prompt and speech but their last token, as `generate` continues a cache, so that
        `generate(**inputs, cache=cache)` goes on from it without running the encoders or the prompt again.
        """
        if not continuations or any(len(c) == 0 for c in continuations):
            raise ValueError("continuations must be a non-empty list of non-empty token id lists")
        if inputs.get("cache") is not None and inputs["cache"].get_seq_length() > 0:
            raise ValueError("score_continuations: the cache given must be empty; scoring fills it with the prefill")
        tree = _PrefixTree(continuations)
        prefix = self(**inputs, use_cache=True, logits_to_keep=1)
        mask = inputs["attention_mask"]
        batch, device = mask.shape[0], mask.device
        tokens = torch.tensor(tree.tokens, device=device)
        parents = torch.tensor(tree.parents, device=device)
        node_logprobs = torch.zeros(batch, len(tree.tokens) + 1, device=device)  # the last column pads the paths
        first = (parents < 0).nonzero().flatten()
        node_logprobs[:, first] = prefix.logits[:, -1].float().log_softmax(-1)[:, tokens[first]]
        if tree.inner:
            self._score_tree_nodes(tree, prefix.cache, mask, tokens, parents, node_logprobs)
        if inputs.get("cache") is not None:
            # the tree's tokens and the prompt's last token leave it (`generate` re-runs that one for its first logits)
            inputs["cache"].crop(mask.shape[1] - 1 - inputs["cache"].get_seq_length())
        width = max(map(len, tree.paths))
        paths = torch.tensor([path + [len(tree.tokens)] * (width - len(path)) for path in tree.paths], device=device)
        return node_logprobs[:, paths].sum(-1)

    def _score_tree_nodes(self, tree, cache, mask, tokens, parents, node_logprobs) -> None:
        """Run the tree's inner nodes after each item's prefix (in `cache`) and write the log-probability of every
        node that has a parent into `node_logprobs`."""
        batch, device = mask.shape[0], mask.device
        inner = torch.tensor(tree.inner, device=device)
        dtype = self.get_input_embeddings().weight.dtype
        sees = torch.cat(
            [mask.bool()[:, None, :].expand(-1, len(tree.inner), -1), tree.ancestry(device).expand(batch, -1, -1)],
            dim=-1,
        )[:, None]
        bias = torch.zeros(sees.shape, dtype=dtype, device=device).masked_fill(~sees, torch.finfo(dtype).min)
        positions = mask.long().sum(-1)[:, None] + torch.tensor(tree.depths, device=device)[inner]
        hidden = self.base_model(
            input_ids=tokens[inner].expand(batch, -1), attention_mask=bias, position_ids=positions, cache=cache,
            use_cache=True,
        ).last_hidden_state
        row_of = torch.full((len(tree.tokens),), -1, dtype=torch.long, device=device)
        row_of[inner] = torch.arange(len(tree.inner), device=device)
        children = (parents >= 0).nonzero().flatten()
        rows, wanted = row_of[parents[children]], tokens[children]
        head = self.get_output_embeddings()
        step = max(1, LOGIT_VALUES_PER_SLICE // (batch * head.weight.shape[0]))
        for start in range(0, len(tree.inner), step):
            logprobs = head(hidden[:, start : start + step]).float().log_softmax(-1)
            here = (rows >= start) & (rows < start + step)
            node_logprobs[:, children[here]] = logprobs[:, rows[here] - start, wanted[here]]

    @torch.no_grad()
    def emotion_probabilities(
        self, candidate_emotions: list[int], candidates: list[list[int]], **inputs
    ) -> torch.Tensor:
        """(batch, emotions) probabilities: per emotion, the log-sum-exp of its candidate answers' likelihoods
        (every wording, both languages unless the candidates were restricted to one), then a softmax over emotions.
        The processor's `emotion_candidates()` gives both lists; columns follow its emotion order."""
        if len(candidate_emotions) != len(candidates):
            raise ValueError(f"{len(candidate_emotions)} emotion indices for {len(candidates)} candidates")
        scores = self.score_continuations(candidates, **inputs)
        owner = torch.tensor(candidate_emotions, device=scores.device)
        per_emotion = torch.stack(
            [scores[:, owner == emotion].logsumexp(-1) for emotion in range(int(owner.max()) + 1)], dim=-1
        )
        return per_emotion.softmax(-1)


__all__ = ["ContinuationScoringMixin", "tree_size"]
