"""Simple baselines: k-means on the node features (Table II's "K-means, F" row)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from graphclust.base import BaseGraphClusterer
from graphclust.graph import Graph

__all__ = ["KMeansFeatures"]


class KMeansFeatures(BaseGraphClusterer):
    """k-means (scikit-learn, k-means++ with ``n_init`` restarts) on the raw node features.

    The graph is ignored; this is the feature-only reference every method should beat.

    Parameters
    ----------
    n_clusters : int, default 8
    n_init : int, default 10
        k-means restarts; the lowest inertia wins.
    random_state : int or None, default None
    device : str, default "auto" (unused: runs on the CPU)
    verbose : bool, default False
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_init: int = 10,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        x = graph.features
        km = _SkKMeans(self.n_clusters, n_init=self.n_init, random_state=int(rng.integers(2**31)))
        self.labels_ = km.fit_predict(x).astype(np.int64)
        self.embedding_ = graph.dense_features()
        self.cluster_centers_ = km.cluster_centers_
