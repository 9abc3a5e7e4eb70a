"""Simple baselines that every deep method must beat: k-means on the node features alone
(Table II's "K-means, F" row) and spectral clustering on the graph alone (Ng, Jordan,
Weiss, "On Spectral Clustering: Analysis and an Algorithm", NIPS 2001; scikit-learn's
``SpectralClustering`` on the adjacency as a precomputed affinity)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import torch
from sklearn.cluster import KMeans as _SkKMeans

from graphclust.base import BaseGraphClusterer, check_positive_int
from graphclust.graph import Graph

__all__ = ["KMeansFeatures", "SpectralGraph", "spectral_clustering"]


def spectral_clustering(a: Any, n_clusters: int, *, n_init: int, seed: int) -> tuple[np.ndarray, Any]:
    """(labels (N,), the fitted model) of scikit-learn's spectral clustering of the symmetric
    affinity ``a`` (N, N); isolated nodes get a self-loop so the normalised Laplacian exists."""
    import warnings

    import scipy.sparse as sp
    from sklearn.cluster import SpectralClustering

    a = sp.csr_matrix(a, dtype=np.float64)
    isolated = np.asarray(a.sum(1)).ravel() == 0
    a = (a + sp.diags(isolated.astype(np.float64))).tocsr()
    model = SpectralClustering(n_clusters, affinity="precomputed", n_init=n_init,
                               random_state=seed)
    with warnings.catch_warnings():  # "graph is not fully connected": expected, harmless
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return model.fit_predict(a).astype(np.int64), model


@dataclass(repr=False, eq=False)
class _Baseline(BaseGraphClusterer):
    """The parameters both baselines take: n_clusters, and n_init k-means restarts.

    Parameters
    ----------
    n_clusters : int, default 8
    n_init : int, default 10
        k-means restarts; the lowest inertia wins.
    random_state : int or None, default None
    device : str, default "auto" (unused: runs on the CPU)
    verbose : bool, default False
    """

    _: KW_ONLY
    n_init: int = 10

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_positive_int("n_init", self.n_init)


@dataclass(repr=False, eq=False)
class KMeansFeatures(_Baseline):
    """k-means (scikit-learn, k-means++ with ``n_init`` restarts) on the raw node features.

    The graph is ignored; this is the feature-only reference every method should beat.
    Parameters: see :class:`_Baseline` (``n_clusters``, ``n_init``, ``random_state``).
    """

    uses_graph = False

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        km = _SkKMeans(self.n_clusters, n_init=self.n_init, random_state=int(rng.integers(2**31)))
        self.labels_ = km.fit_predict(graph.features).astype(np.int64)
        self.embedding_ = graph.dense_features()
        self.model_ = km
        self.cluster_centers_ = km.cluster_centers_
        self.n_iter_ = int(km.n_iter_)

    def transform(self, graph: Graph | None = None) -> np.ndarray:
        """The features themselves (dense): this baseline learns no embedding."""
        self._check_fitted()
        if graph is None:
            return self.embedding_
        self._check_same_features(graph)
        return graph.dense_features()

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """Nearest centre of each node's features (``labels_`` for ``None``)."""
        if graph is None:
            return super().predict()
        self._check_same_features(graph)
        return self.model_.predict(graph.features).astype(np.int64)


@dataclass(repr=False, eq=False)
class SpectralGraph(_Baseline):
    """Spectral clustering of the graph's structure alone (the features are ignored).

    The symmetrised adjacency (loops dropped, isolated nodes given a self-loop so the
    normalised Laplacian exists) is scikit-learn's precomputed affinity; the spectral
    embedding's k-means uses ``n_init`` restarts. The reference for what the edges alone
    give. Parameters: see :class:`_Baseline`.
    """

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        from graphclust.graph import remove_self_loops, symmetrize

        a = remove_self_loops(symmetrize(graph.adjacency))
        self.labels_, self.model_ = spectral_clustering(
            a, self.n_clusters, n_init=self.n_init, seed=int(rng.integers(2**31)))
