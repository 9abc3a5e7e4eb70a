"""Autoencoder baselines: cluster the codes of the same pre-trained autoencoder that VaDE and
DGG start from.

* ``cluster="kmeans"``: AE + k-means (DEC's and DGG's Table 1 row);
* ``cluster="gmm"``: AE + GMM (diagonal; VaDE's start, DGG Table 1's "AE+GMM");
* ``cluster="umap-gmm"``: N2D (McConville, Santos-Rodriguez, Piechocki, Craddock, "N2D:
  (Not Too) Deep Clustering via Clustering the Local Manifold of an Autoencoded Embedding",
  ICPR 2020, https://arxiv.org/abs/1908.05968): UMAP of the codes to ``n_clusters``
  dimensions (``umap_neighbors`` neighbours, min_dist 0), then a full-covariance GMM. Needs
  the optional extra ``umap-learn`` (``pip install umap-learn``).

Same seed, same autoencoder: the pre-training is VaDE's own code path
(:class:`~graphclust.methods._autoencoder.LikelihoodAutoencoderMethod`), so a table's rows
differ only in what follows the autoencoder. The graph is not used.
"""

from __future__ import annotations

import warnings
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from graphclust.base import check_choice, check_positive_int
from graphclust.graph import Graph
from graphclust.methods._autoencoder import LikelihoodAutoencoderMethod

__all__ = ["AutoencoderClusters", "has_umap", "require_umap", "umap_gmm_labels"]


def has_umap() -> bool:
    """Whether the optional extra umap-learn is installed."""
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def require_umap(what: str, instead: str) -> None:
    """Raise an ImportError naming the extra when umap-learn is missing."""
    if not has_umap():
        raise ImportError(f"{what} needs the optional extra umap-learn: pip install umap-learn "
                          f"(or choose {instead}).")


def umap_gmm_labels(codes: np.ndarray, n_clusters: int, *, n_neighbors: int = 20,
                    n_init: int = 5, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, GaussianMixture]:
    """N2D's clustering of codes (N, d): UMAP to ``n_clusters`` dimensions (``n_neighbors``
    neighbours, min_dist 0, euclidean), then a full-covariance GMM with ``n_init`` restarts.
    Returns the labels (N,), the UMAP coordinates (N, n_clusters) and the fitted GMM."""
    import umap

    reducer = umap.UMAP(n_components=n_clusters, n_neighbors=n_neighbors, min_dist=0.0,
                        metric="euclidean", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state"; GMM restarts
        points = reducer.fit_transform(codes)
        gmm = GaussianMixture(n_clusters, n_init=n_init, random_state=seed,
                              covariance_type="full")
        labels = gmm.fit_predict(points).astype(np.int64)
    return labels, points, gmm


@dataclass(repr=False, eq=False)
class AutoencoderClusters(LikelihoodAutoencoderMethod):
    """Pre-train the autoencoder, then cluster its codes.

    Parameters
    ----------
    n_clusters : int, default 10
    cluster : {"kmeans", "gmm", "umap-gmm"}, default "gmm"
        What clusters the codes (see the module docstring).
    widths, pretrain_epochs, pretrain_lr, batch_size, likelihood, pretrain_noise :
        the autoencoder and its pre-training, as VaDE's (defaults the same: 50 epochs).
    n_init : int, default 5
        Restarts of k-means or of the GMM.
    umap_neighbors : int, default 20
        UMAP's n_neighbors (N2D: 20 on MNIST).

    Attributes
    ----------
    labels_ (N,): the labels of ``cluster``; kmeans_labels_, gmm_labels_ (N,): both, whatever
    ``cluster`` is; umap_gmm_labels_ (N,) and reduced_ (N, K) the UMAP coordinates
    (``umap-gmm`` only); embedding_ (N, latent) the autoencoder codes.
    """

    uses_graph = False

    n_clusters: int = 10
    _: KW_ONLY
    pretrain_epochs: int = 50
    cluster: Literal["kmeans", "gmm", "umap-gmm"] = "gmm"
    n_init: int = 5
    umap_neighbors: int = 20

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(widths=(16, 16, 32, 4), pretrain_epochs=3, batch_size=64, n_init=1,
                    pretrain_min_steps=0)

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_choice("cluster", self.cluster, ("kmeans", "gmm", "umap-gmm"))
        check_positive_int("n_init", self.n_init)
        check_positive_int("umap_neighbors", self.umap_neighbors, minimum=2)
        if self.cluster == "umap-gmm":
            require_umap("cluster='umap-gmm'", "cluster='gmm'")

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        x, _, ae = self._pretrained(graph, device, rng)
        with torch.no_grad():
            codes = ae.encode(x)[-1].cpu().numpy()
        seed = int(rng.integers(2**31))
        self.embedding_ = codes
        # k-means and the diagonal GMM of the codes are cheap next to the pre-training (seconds
        # on 10k x 10 codes), so a fit keeps both: a table scores AE + k-means and AE + GMM from
        # one autoencoder (the bench's label_only). UMAP costs more and runs only when asked.
        kmeans = KMeans(self.n_clusters, n_init=self.n_init, random_state=seed)
        gmm = GaussianMixture(self.n_clusters, n_init=self.n_init, random_state=seed,
                              covariance_type="diag")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a GMM restart that did not converge is fine
            self.kmeans_labels_ = kmeans.fit_predict(codes).astype(np.int64)
            self.gmm_labels_ = gmm.fit_predict(codes).astype(np.int64)
        self.model_: Any = kmeans if self.cluster == "kmeans" else gmm
        self.labels_ = self.kmeans_labels_ if self.cluster == "kmeans" else self.gmm_labels_
        if self.cluster == "umap-gmm":
            self.umap_gmm_labels_, self.reduced_, self.model_ = umap_gmm_labels(
                codes, self.n_clusters, n_neighbors=self.umap_neighbors, n_init=self.n_init,
                seed=seed)
            self.labels_ = self.umap_gmm_labels_
