"""Embedded datasets that need no files: a contextual stochastic block model, two half-moons
and digits."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphclust.graph import Graph, binarize, remove_self_loops, symmetrize
from graphclust.neighbors import knn_graph

__all__ = ["make_csbm", "make_moons", "load_digits_graph"]


def make_csbm(
    n_nodes: int = 2000,
    n_classes: int = 5,
    avg_degree: float = 5.0,
    homophily: float = 0.8,
    n_features: int = 100,
    feature_signal: float = 1.0,
    random_state: int | None = 0,
    *,
    degree_exponent: float | None = None,
) -> Graph:
    """Contextual stochastic block model (Deshpande et al., 2018), sparse and O(N d + N F).

    Classes are drawn uniformly. ``n_nodes * avg_degree / 2`` edges are sampled: each picks
    a source, then a target in the same class with probability ``homophily``, otherwise in
    another class. Without ``degree_exponent`` sources and targets are uniform (Poisson
    degrees). With it the model is degree-corrected (Karrer & Newman, 2011): each node gets
    a propensity theta_i from a Pareto law with that exponent (P(theta) ~ theta^-exponent,
    theta >= 1, capped at sqrt(N) so no node holds a large share of the edges), and sources
    and targets (within the chosen class) are drawn in proportion to theta: expected degrees
    follow the power law, the class structure is unchanged. Features are ``feature_signal * mu_c + noise`` with class
    means ``mu_c ~ N(0, I / F)`` scaled to unit norm and standard normal noise / sqrt(F),
    so ``feature_signal`` is the mean-to-noise ratio (0 = features carry no class signal).
    Duplicate edges and self-loops are dropped, so the realised edge count is a bit lower.
    """
    for name, val, lo in (("n_nodes", n_nodes, 2), ("n_classes", n_classes, 1), ("n_features", n_features, 1)):
        if int(val) != val or val < lo:
            raise ValueError(f"{name} must be an integer >= {lo} but got {val!r}.")
    if n_classes > n_nodes:
        raise ValueError(f"n_classes ({n_classes}) cannot exceed n_nodes ({n_nodes}).")
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"homophily must lie in [0, 1] but got {homophily!r}.")
    if avg_degree <= 0:
        raise ValueError(f"avg_degree must be > 0 but got {avg_degree!r}.")
    if degree_exponent is not None and not degree_exponent > 2:
        raise ValueError(f"degree_exponent must be > 2 (a power law with a finite mean degree) "
                         f"or None for uniform degrees but got {degree_exponent!r}.")
    rng = np.random.default_rng(random_state)
    y = rng.integers(0, n_classes, n_nodes)
    y[:n_classes] = np.arange(n_classes)  # every class present
    order = np.argsort(y, kind="stable")
    starts = np.searchsorted(y[order], np.arange(n_classes))
    sizes = np.bincount(y, minlength=n_classes)

    m = int(round(n_nodes * avg_degree / 2))
    if degree_exponent is None:
        src = rng.integers(0, n_nodes, m)
    else:
        theta = np.minimum(rng.pareto(degree_exponent - 1.0, n_nodes) + 1.0, np.sqrt(n_nodes))
        src = np.minimum(np.searchsorted(np.cumsum(theta), rng.random(m) * theta.sum()),
                         n_nodes - 1)
    same = rng.random(m) < homophily
    if n_classes == 1:
        same[:] = True
    shift = rng.integers(1, max(n_classes, 2), m)
    tgt_class = np.where(same, y[src], (y[src] + shift) % n_classes)
    if degree_exponent is None:
        offset = (rng.random(m) * sizes[tgt_class]).astype(np.int64)
        dst = order[starts[tgt_class] + offset]
    else:  # in proportion to theta within the class: one cumulative sum over class order
        cum = np.concatenate([[0.0], np.cumsum(theta[order])])
        c_lo, c_hi = cum[starts[tgt_class]], cum[starts[tgt_class] + sizes[tgt_class]]
        pos = np.searchsorted(cum, c_lo + rng.random(m) * (c_hi - c_lo), side="right") - 1
        dst = order[np.clip(pos, starts[tgt_class], starts[tgt_class] + sizes[tgt_class] - 1)]
    a = sp.csr_matrix((np.ones(m, np.float32), (src, dst)), shape=(n_nodes, n_nodes))
    a = remove_self_loops(binarize(symmetrize(a)))

    mu = rng.standard_normal((n_classes, n_features)).astype(np.float32)
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    noise = rng.standard_normal((n_nodes, n_features)).astype(np.float32) / np.sqrt(n_features)
    x = feature_signal * mu[y] + noise
    return Graph(
        x,
        a,
        y,
        "csbm",
        meta={
            "format": "generated",
            "params": dict(
                n_nodes=n_nodes,
                n_classes=n_classes,
                avg_degree=avg_degree,
                homophily=homophily,
                n_features=n_features,
                feature_signal=feature_signal,
                random_state=random_state,
                degree_exponent=degree_exponent,
            ),
        },
    )


def make_moons(n_per_class: int = 2000, *, noise: float = 0.05, gap: float = 0.0,
               k: int = 0, random_state: int | None = 0) -> Graph:
    """Two interleaved half circles of radius 1 in 2-D (DGG's Fig. 1; the usual two moons).

    Class 0 is (cos t, sin t), class 1 (1 - cos t, 1/2 - sin t - ``gap``), t uniform in
    [0, pi], plus isotropic Gaussian ``noise`` (std). ``gap`` = 0 is scikit-learn's
    ``make_moons``; a larger gap moves the two classes apart (the paper draws two such
    distances without giving them). ``k`` > 0 adds a Euclidean k-NN graph.
    """
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 2:
        raise ValueError(f"n_per_class must be an int >= 2 but got {n_per_class!r}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation, >= 0, but got {noise!r}.")
    rng = np.random.default_rng(random_state)
    t = rng.uniform(0.0, np.pi, size=(2, n_per_class))
    upper = np.stack([np.cos(t[0]), np.sin(t[0])], 1)
    lower = np.stack([1.0 - np.cos(t[1]), 0.5 - np.sin(t[1]) - gap], 1)
    x = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(2 * n_per_class, 2))
    y = np.repeat(np.arange(2), n_per_class)
    n = 2 * n_per_class
    a = knn_graph(x, k, metric="heat") if k > 0 else sp.csr_matrix((n, n), dtype=np.float32)
    return Graph(x.astype(np.float32), a, y.astype(np.int64), "moons",
                 meta={"noise": noise, "gap": gap, "knn": k})


def load_digits_graph(k: int = 10, metric: str = "cosine") -> Graph:
    """scikit-learn's bundled 8x8 digits (1797 x 64, 10 classes) with a k-NN graph."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    a = knn_graph(x, k, metric=metric)  # type: ignore[arg-type]
    return Graph(x, a, d.target.astype(np.int64), "digits", meta={"format": "sklearn", "knn": k})
