"""The voc.sentiment.v1 network: a fastText-style bag of hashed n-gram features -> one logit
(positive vs negative), plus a temperature that calibrates its probabilities."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nlp.sentiment.features import Batch


class HashedBagClassifier(nn.Module):
    """EmbeddingBag over hashed feature ids (weighted sum), then a linear layer to one logit.
    With dim=1 (the shipped model, chosen by measurement) this is logistic regression over the
    features, which is also what makes it fast."""

    def __init__(self, buckets: int, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.embed = nn.EmbeddingBag(buckets, dim, mode="sum")
        self.out = nn.Linear(dim, 1)
        if dim == 1:
            nn.init.zeros_(self.embed.weight)
            nn.init.ones_(self.out.weight)
            self.out.weight.requires_grad_(False)
        else:
            nn.init.normal_(self.embed.weight, 0, 0.05)
        self.register_buffer("temperature", torch.ones(()))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor,
                weights: torch.Tensor) -> torch.Tensor:
        bag = self.embed(ids, offsets, per_sample_weights=weights)
        return self.out(bag).squeeze(-1)


def to_tensors(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(batch.ids), torch.from_numpy(batch.offsets),
            torch.from_numpy(batch.weights))


@torch.inference_mode()
def logits_of(model: HashedBagClassifier, batch: Batch) -> np.ndarray:
    """Raw logits (before temperature)."""
    model.eval()
    if len(batch.offsets) == 0:
        return np.zeros(0, dtype=np.float32)
    return model(*to_tensors(batch)).numpy()


def positive_probability(model: HashedBagClassifier, batch: Batch) -> np.ndarray:
    """Calibrated P(positive) per sentence."""
    logits = logits_of(model, batch) / float(model.temperature)
    return 1.0 / (1.0 + np.exp(-logits))
