"""HDBSCAN's approximate_predict with a brute-force (BLAS) neighbour search.

hdbscan queries a KD-tree for each new point's 2 x min_samples nearest fitted points; on our
64-dimensional embeddings a KD-tree degenerates to a slow scan (about 0.8 ms a point on this CPU,
an hour for a few million sentences). The same neighbours from chunked matrix products take a
few microseconds a point; the rest is hdbscan's own per-point code, so labels are the same
(up to ties between equidistant neighbours).
"""

from __future__ import annotations

import numpy as np
from hdbscan.prediction import _cluster_tree_lookup

CHUNK = 4096


def nearest_neighbours(points: np.ndarray, data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of the `k` nearest rows of `data`, closest first.
    Candidates come from one fused float32 matrix product + top-k in torch (numpy's
    argpartition was the bottleneck); their distances are then recomputed exactly in float64."""
    import torch

    k = min(k, len(data))
    extra = min(len(data), k + 4)  # margin against float32 rounding at the k-th neighbour
    ref = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    ref_sq = (ref * ref).sum(dim=1)[None, :]
    dist = np.empty((len(points), k))
    index = np.empty((len(points), k), dtype=np.int64)
    for start in range(0, len(points), CHUNK):
        chunk = points[start : start + CHUNK]
        q = torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32))
        # |q|^2 is constant per row: it does not change which rows are nearest.
        partial = torch.addmm(ref_sq, q, ref.T, alpha=-2.0)
        _, found = torch.topk(partial, extra, dim=1, largest=False, sorted=False)
        cand = found.numpy()
        diff = data[cand] - chunk[:, None, :]
        exact = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        index[start : start + len(chunk)] = np.take_along_axis(cand, order, axis=1)
        dist[start : start + len(chunk)] = np.take_along_axis(exact, order, axis=1)
    return dist, index


def approximate_predict(clusterer, points) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of new points under a fitted HDBSCAN (prediction_data=True);
    hdbscan.prediction._find_cluster_and_probability vectorised over the points."""
    data = clusterer.prediction_data_
    points = np.asarray(points, dtype=np.float64)
    if getattr(clusterer, "metric", "euclidean") != "euclidean" or data.cluster_tree.shape[0] == 0:
        from hdbscan import approximate_predict as slow

        return slow(clusterer, points)
    min_samples = clusterer.min_samples or clusterer.min_cluster_size
    raw = np.asarray(data.raw_data, dtype=np.float64)
    distances, indices = nearest_neighbours(points, raw, 2 * min_samples)
    # _find_neighbor_and_lambda: mutual reachability to each candidate, nearest one wins.
    core = np.asarray(data.core_distances)
    mr = np.maximum(np.maximum(core[indices], distances[:, [min(min_samples, distances.shape[1] - 1)]]),
                    distances)
    best = mr.argmin(axis=1)
    rows = np.arange(len(points))
    nearest = indices[rows, best]
    best_mr = mr[rows, best]
    lambdas = np.full(len(points), np.finfo(np.double).max)
    np.divide(1.0, best_mr, out=lambdas, where=best_mr > 0.0)
    # get_tree_row_with_child for every fitted point at once.
    tree = clusterer.condensed_tree_._raw_tree
    points_only = tree[tree["child"] < len(raw)]
    parent_of = np.empty(len(raw), dtype=np.int64)
    lambda_of = np.empty(len(raw))
    parent_of[points_only["child"]] = points_only["parent"]
    lambda_of[points_only["child"]] = points_only["lambda_val"]
    cluster_tree = data.cluster_tree
    lookup = _cluster_tree_lookup(cluster_tree)
    root = cluster_tree["parent"].min()
    labels = np.empty(len(points), dtype=np.int32)
    probabilities = np.empty(len(points), dtype=np.float64)
    cluster_map, max_lambdas = data.cluster_map, data.max_lambdas
    for i in range(len(points)):
        lambda_ = lambdas[i]
        potential = parent_of[nearest[i]]
        if lambda_of[nearest[i]] > lambda_:
            while potential > root:
                entry = lookup.get(int(potential))
                if entry is None or not (entry[1] >= lambda_):
                    break
                potential = entry[0]
        label = cluster_map.get(potential, -1)
        if label >= 0:
            max_lambda = max_lambdas[potential]
            prob = min(max_lambda, lambda_) / max_lambda if max_lambda > 0.0 else 1.0
        else:
            prob = 0.0
        labels[i], probabilities[i] = label, prob
    return labels, probabilities
