"""Clustering quality: label-based (ACC, NMI, ARI, F1, precision), graph-based
(modularity, conductance) and embedding-based (silhouette); the last two kinds need no
labels.

ACC, F1 and precision first match clusters to classes with the Hungarian algorithm on the
full, possibly rectangular, contingency table (``scipy.optimize.linear_sum_assignment``):
a cluster left unmatched (more clusters than classes) counts as wrong, never merged.
Nodes whose true label is ``-1`` (unlabelled) are left out of the label-based scores.
No input is modified.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

__all__ = [
    "contingency",
    "match_clusters",
    "accuracy",
    "nmi",
    "ari",
    "f1_macro",
    "precision_macro",
    "modularity",
    "conductance",
    "silhouette",
    "evaluate",
]


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true).ravel()
    p = np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length but got {t.shape[0]} and {p.shape[0]}."
        )
    if t.size == 0:
        raise ValueError("Expected at least one labelled node but got empty labels.")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"Expected integer {name} but got dtype {arr.dtype}.")
    keep = t >= 0
    if not keep.any():
        raise ValueError("Every y_true is -1 (unlabelled): nothing to score.")
    return t[keep], p[keep]


def contingency(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (table, classes, clusters): ``table[i, j]`` = #nodes of class i in cluster j."""
    classes, ti = np.unique(y_true, return_inverse=True)
    clusters, pi = np.unique(y_pred, return_inverse=True)
    table = np.zeros((classes.size, clusters.size), dtype=np.int64)
    np.add.at(table, (ti, pi), 1)
    return table, classes, clusters


def match_clusters(y_true: Any, y_pred: Any) -> np.ndarray:
    """Map each predicted cluster to a class by maximum-weight matching.

    Returns ``y_pred`` relabelled to class ids; clusters without a partner become ``-1``.
    Only labelled nodes (``y_true >= 0``) inform the matching.
    """
    t, p = _check_pair(y_true, y_pred)
    table, classes, clusters = contingency(t, p)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {int(clusters[c]): int(classes[r]) for r, c in zip(rows, cols)}
    full = np.asarray(y_pred).ravel()
    return np.array([mapping.get(int(c), -1) for c in full], dtype=np.int64)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Clustering accuracy: fraction of labelled nodes whose matched cluster is their class."""
    t, p = _check_pair(y_true, y_pred)
    table, _, _ = contingency(t, p)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / t.size)


def nmi(y_true: Any, y_pred: Any) -> float:
    """Normalised mutual information (arithmetic normalisation, as scikit-learn)."""
    t, p = _check_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(t, p))


def ari(y_true: Any, y_pred: Any) -> float:
    t, p = _check_pair(y_true, y_pred)
    return float(adjusted_rand_score(t, p))


def _per_class_prf(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _check_pair(y_true, y_pred)
    table, _, _ = contingency(t, p)
    rows, cols = linear_sum_assignment(table, maximize=True)
    n_classes = table.shape[0]
    tp = np.zeros(n_classes)
    pred_size = np.zeros(n_classes)
    tp[rows] = table[rows, cols]
    pred_size[rows] = table[:, cols].sum(axis=0)
    true_size = table.sum(axis=1)
    precision = np.divide(tp, pred_size, out=np.zeros(n_classes), where=pred_size > 0)
    recall = tp / true_size
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n_classes), where=denom > 0)
    return f1, precision


def f1_macro(y_true: Any, y_pred: Any) -> float:
    """Macro-F1 over the true classes after Hungarian matching (unmatched class: F1 = 0)."""
    return float(_per_class_prf(y_true, y_pred)[0].mean())


def precision_macro(y_true: Any, y_pred: Any) -> float:
    """Macro-precision over the true classes after Hungarian matching."""
    return float(_per_class_prf(y_true, y_pred)[1].mean())


def _check_adjacency(adjacency: Any, n: int) -> sp.csr_matrix:
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    if a.shape != (n, n):
        raise ValueError(
            f"Expected an adjacency of shape ({n}, {n}) for {n} labels but got {a.shape}."
        )
    return sp.csr_matrix(a.maximum(a.T))


def _community_sums(adjacency: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """Per community: (weight inside, total degree), and the total edge weight m.

    The graph is undirected (A symmetrised by max(A, A^T)) and may be weighted with
    self-loops; as in networkx, an edge {i, j} of weight w counts w once in m and in the
    weight inside its community, and a self-loop of weight w adds 2 w to its node's degree.
    """
    p = np.asarray(y_pred).ravel()
    a = _check_adjacency(adjacency, p.size)
    _, c = np.unique(p, return_inverse=True)
    k = int(c.max()) + 1
    membership = sp.csr_matrix((np.ones(p.size), (np.arange(p.size), c)), shape=(p.size, k))
    loops = a.diagonal()
    degree = np.asarray(a.sum(axis=1)).ravel() + loops  # (N,)
    # sum over ordered pairs inside c counts an edge twice and a loop once; add the loops again
    inside = (np.asarray((membership.T @ a @ membership).diagonal()).ravel()
              + membership.T @ loops) / 2.0
    return inside, np.asarray(membership.T @ degree).ravel(), float(degree.sum()) / 2.0


def modularity(adjacency: Any, y_pred: Any) -> float:
    """Newman's modularity Q = sum_c [ L_c / m - (d_c / 2m)^2 ] of an undirected graph.

    ``L_c`` is the weight inside community c, ``d_c`` its total degree, ``m`` the total
    edge weight; weights and self-loops count as in ``networkx.community.modularity``.
    """
    inside, degree, m = _community_sums(adjacency, y_pred)
    if m == 0:
        return 0.0
    return float(np.sum(inside / m - (degree / (2.0 * m)) ** 2))


def conductance(adjacency: Any, y_pred: Any) -> float:
    """Mean over clusters of cut(S) / min(vol(S), vol(V \\ S)); lower is better.

    Volumes are sums of degrees (a self-loop adds twice its weight), the cut the weight
    leaving S: ``networkx.algorithms.cuts.conductance`` per cluster, averaged.
    """
    inside, vol, m = _community_sums(adjacency, y_pred)
    cut = vol - 2.0 * inside
    denom = np.minimum(vol, 2.0 * m - vol)
    scores = np.divide(cut, denom, out=np.zeros_like(cut), where=denom > 0)
    return float(scores.mean())


def silhouette(embedding: Any, y_pred: Any, *, max_points: int = 5000,
               random_state: int = 0) -> float:
    """Mean silhouette of the clusters in ``embedding`` (Euclidean; scikit-learn's
    ``silhouette_score``), on a seeded random subset of ``max_points`` nodes above that size
    (the exact score costs N^2 distances). NaN when there is only one cluster."""
    from sklearn.metrics import silhouette_score

    x = np.asarray(embedding, dtype=np.float32)
    p = np.asarray(y_pred).ravel()
    if x.shape[0] != p.size:
        raise ValueError(f"Expected one embedding row per label but got {x.shape[0]} rows "
                         f"and {p.size} labels.")
    if np.unique(p).size < 2 or np.unique(p).size >= p.size:
        return float("nan")
    sample = None if p.size <= max_points else max_points
    return float(silhouette_score(x, p, sample_size=sample, random_state=random_state))


def evaluate(y_true: Any, y_pred: Any, adjacency: Any = None,
             embedding: Any = None) -> dict[str, float]:
    """All scores in one dict: acc, nmi, ari, f1, precision (+ modularity, conductance with
    ``adjacency``, + silhouette with ``embedding``).

    Label-based scores need ``y_true``; pass ``y_true=None`` to get only the label-free ones.
    """
    out: dict[str, float] = {}
    if y_true is not None:
        out.update(
            acc=accuracy(y_true, y_pred),
            nmi=nmi(y_true, y_pred),
            ari=ari(y_true, y_pred),
            f1=f1_macro(y_true, y_pred),
            precision=precision_macro(y_true, y_pred),
        )
    if adjacency is not None:
        out.update(modularity=modularity(adjacency, y_pred), conductance=conductance(adjacency, y_pred))
    if embedding is not None:
        out["silhouette"] = silhouette(embedding, y_pred)
    return out
