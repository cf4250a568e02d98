"""Training and scoring one head on cached features (a plain torch loop: a head of a few hundred thousand weights over
features already in memory needs none of the Trainer's machinery)."""

import copy

import numpy as np
import torch
from torch import nn

from .heads import HEADS


def clip_features(frames: np.ndarray, layer_norm: bool = True) -> torch.Tensor:
    """A cached clip as float32; with `layer_norm`, EmoBox's "output norm": layer norm over the clip's whole
    (frames, hidden) array, without affine."""
    tensor = torch.from_numpy(frames.astype(np.float32))
    return nn.functional.layer_norm(tensor, tensor.shape) if layer_norm else tensor


def batches(features: list[torch.Tensor], order, batch_size: int):
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        frames = nn.utils.rnn.pad_sequence([features[i] for i in chosen], batch_first=True)
        lengths = torch.tensor([len(features[i]) for i in chosen])
        yield chosen, frames, torch.arange(frames.shape[1])[None, :] < lengths[:, None]


@torch.no_grad()
def predict(head: nn.Module, features: list[torch.Tensor], batch_size: int = 256) -> np.ndarray:
    head.eval()
    out = np.zeros(len(features), dtype=np.int64)
    for chosen, frames, mask in batches(features, np.arange(len(features)), batch_size):
        out[chosen] = head(frames, mask).argmax(-1).numpy()
    return out


def train_head(kind: str, train: tuple[list, np.ndarray], validation: tuple[list, np.ndarray], num_labels: int,
               score, epochs: int = 100, learning_rate: float = 5e-4, weight_decay: float = 1e-5,
               batch_size: int = 128, seed: int = 0) -> nn.Module:
    """Adam on cross-entropy for `epochs`; returns the head of the epoch with the best `score(predictions,
    references)` on the validation clips (the first best on ties)."""
    torch.manual_seed(seed)
    features, labels = train
    head = HEADS[kind](features[0].shape[-1], num_labels)
    optimizer = torch.optim.Adam(head.parameters(), lr=learning_rate, weight_decay=weight_decay)
    targets = torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(seed)
    best, best_score = None, -1.0
    for _ in range(epochs):
        head.train()
        order = torch.randperm(len(features), generator=generator).numpy()
        for chosen, frames, mask in batches(features, order, batch_size):
            loss = nn.functional.cross_entropy(head(frames, mask), targets[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        current = score(predict(head, validation[0]), validation[1])
        if current > best_score:
            best, best_score = copy.deepcopy(head.state_dict()), current
    head.load_state_dict(best)
    return head.eval()
