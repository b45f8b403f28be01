"""Training for voc.sentiment.v1: lists in, model out. Fixed seeds, deterministic order, temperature
calibration on a held-back slice of the training data."""

from __future__ import annotations

import logging
import math
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nlp.sentiment.features import Batch, FeatureConfig, featurize_batch
from nlp.sentiment.model import HashedBagClassifier, logits_of, to_tensors

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (saved with the model)."""

    dim: int = 1
    epochs: int = 4
    batch_size: int = 64
    lr: float = 0.01
    l2: float = 1e-4
    seed: int = 13
    threads: int = 2
    calibration_share: float = 0.1
    features: FeatureConfig = field(default_factory=FeatureConfig)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stable_bucket(text: str, modulo: int) -> int:
    """A split key that depends on the text only: the same sentence lands in the same split
    whatever the seed, the order or the other data."""
    return zlib.crc32(text.encode("utf-8")) % modulo


def _subset(batch: Batch, rows: np.ndarray) -> Batch:
    """The bags `rows` of `batch`, repacked."""
    ends = np.append(batch.offsets[1:], len(batch.ids))
    ids, weights, offsets = [], [], np.zeros(len(rows), dtype=np.int64)
    pos = 0
    for i, row in enumerate(rows):
        start, end = batch.offsets[row], ends[row]
        offsets[i] = pos
        ids.append(batch.ids[start:end])
        weights.append(batch.weights[start:end])
        pos += end - start
    if not ids:
        return Batch(np.zeros(0, np.int64), np.zeros(0, np.float32), offsets)
    return Batch(np.concatenate(ids), np.concatenate(weights), offsets)


def fit_features(batch: Batch, labels: np.ndarray, config: TrainConfig,
                 progress: Progress | None = None,
                 weights: np.ndarray | None = None) -> HashedBagClassifier:
    """Adam on mini-batches of featurised bags; labels are 1 (positive) / 0 (negative), or 0.5
    for a neutral sentence (its score is pulled towards 0). `weights` scale each sentence's
    loss (hand-labelled customer clauses count more than review sentences). The L2 penalty
    applies to the rows a batch touches (lazy regularisation, as in fastText)."""
    set_seed(config.seed)
    torch.set_num_threads(max(1, config.threads))
    model = HashedBagClassifier(config.features.buckets, config.dim)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    order_rng = np.random.default_rng(config.seed)
    n = len(labels)
    targets = torch.from_numpy(labels.astype(np.float32))
    scale = torch.from_numpy((np.ones(n) if weights is None else weights).astype(np.float32))
    for epoch in range(config.epochs):
        model.train()
        total = 0.0
        order = order_rng.permutation(n)
        for start in range(0, n, config.batch_size):
            rows = order[start : start + config.batch_size]
            ids, offsets, weights = to_tensors(_subset(batch, rows))
            loss = nn.functional.binary_cross_entropy_with_logits(
                model(ids, offsets, weights), targets[rows], weight=scale[rows])
            if config.l2 > 0:
                loss = loss + config.l2 * model.embed.weight[ids].pow(2).sum() / len(rows)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        log.debug("epoch %d: loss %.4f", epoch + 1, total / max(n, 1))
        if progress is not None:
            progress(epoch + 1, config.epochs)
    return model


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising log-loss on held-back data (grid search: deterministic)."""
    best, best_loss = 1.0, float("inf")
    for temperature in np.exp(np.linspace(math.log(0.2), math.log(5.0), 161)):
        z = logits / temperature
        loss = float(np.mean(np.logaddexp(0, z) - labels * z))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def train_model(texts: Sequence[str], labels: Sequence[float], config: TrainConfig,
                progress: Progress | None = None,
                weights: Sequence[float] | None = None) -> HashedBagClassifier:
    """Train on (text, 0/1) pairs (0.5: neutral) with optional per-sentence loss weights; a
    stable slice of `calibration_share` is held back to fit the temperature (the model never
    trains on it, so the calibration is honest; neutral sentences are left out of it)."""
    y = np.asarray(labels, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    batch = featurize_batch(texts, config.features)
    calib = np.array([stable_bucket(t, 1000) < config.calibration_share * 1000 for t in texts],
                     dtype=bool)
    fit_rows = np.flatnonzero(~calib)
    cal_rows = np.flatnonzero(calib & (y != 0.5))
    model = fit_features(_subset(batch, fit_rows), y[fit_rows], config, progress, w[fit_rows])
    if len(cal_rows):
        temperature = fit_temperature(logits_of(model, _subset(batch, cal_rows)), y[cal_rows])
        model.temperature.fill_(temperature)
        log.info("calibration on %d held-back sentences: temperature %.3f", len(cal_rows),
                 temperature)
    return model
