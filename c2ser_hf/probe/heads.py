"""The two downstream heads of the probe, trained on frozen frame features."""

import torch
from torch import nn

from ..modeling.configuration_emotion2vec_s import Emotion2VecSConfig
from ..modeling.modeling_emotion2vec_s import Emotion2VecSClassificationHead


def masked_mean(frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    weights = frame_mask[..., None].to(frames.dtype)
    return (frames * weights).sum(1) / weights.sum(1)


class PooledHead(nn.Module):
    """The Emotion2Vec-S paper's classifier (§V-A): three fully connected layers over the mean-pooled features; the
    same head `Emotion2VecSForSequenceClassification` carries."""

    def __init__(self, feature_size: int, num_labels: int, hidden_sizes=(256, 256), dropout: float = 0.1):
        super().__init__()
        config = Emotion2VecSConfig(hidden_size=feature_size, num_labels=num_labels,
                                    classifier_hidden_sizes=list(hidden_sizes), classifier_dropout=dropout)
        self.classifier = Emotion2VecSClassificationHead(config)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(masked_mean(frames, frame_mask))


class FrameHead(nn.Module):
    """emotion2vec's and EmoBox's downstream model: Linear -> ReLU per frame, masked mean over frames, Linear."""

    def __init__(self, feature_size: int, num_labels: int, hidden_size: int = 256):
        super().__init__()
        self.pre_net = nn.Linear(feature_size, hidden_size)
        self.post_net = nn.Linear(hidden_size, num_labels)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        return self.post_net(masked_mean(torch.relu(self.pre_net(frames)), frame_mask))


HEADS = {"paper": PooledHead, "emotion2vec": FrameHead}
