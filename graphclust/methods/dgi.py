"""DGI: Deep Graph Infomax (Velickovic et al., ICLR 2019; ../papers/dgi.txt).

A one-layer GCN encoder ``H = PReLU(D^-1/2 (A+I) D^-1/2 X W)`` (eq. 8) is trained to tell
node embeddings of the graph from those of a corrupted graph (rows of X shuffled) against
the summary ``s = sigmoid(mean(H))`` (eq. 9) with a bilinear discriminator and the BCE
objective (eq. 1). Adam, lr 0.001, early stopping on the training loss with patience 20,
best weights kept in memory; non-negative features (bag-of-words, pixels) are
row-normalised as in the paper's preprocessing, features with negative values are used as is.
``fit`` then clusters the frozen embedding with k-means; ``transform`` returns it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import torch
from sklearn.cluster import KMeans

from graphclust.base import (
    BaseGraphClusterer,
    check_bool,
    check_positive_float,
    check_positive_int,
)
from graphclust.diffusion import (
    DEFAULT_MAX_DENSE_GB,
    gcn_norm,
    ppr_exact,
    ppr_lowrank_residual,
    ppr_topk,
)
from graphclust.graph import Graph
from graphclust.nn.infomax import (
    FixedMatrix,
    InfomaxModel,
    row_normalize,
    to_torch,
    train_infomax,
)

__all__ = ["DGI", "propagation_matrix"]

log = logging.getLogger(__name__)

Diffusion = Literal["none", "ppr"]


def propagation_matrix(
    graph: Graph,
    diffusion: str,
    alpha: float,
    ppr_k: int | None,
    ppr_eps: float,
    max_dense_gb: float,
    ppr_keep_mass: bool,
    ppr_rank: int,
) -> tuple[Any, tuple[np.ndarray, np.ndarray] | None]:
    """The encoder's S as ``(matrix, low_rank)``: gcn_norm(A) for "none"; for "ppr" the exact
    PPR (ppr_k=None), or the top-k PPR (rows rescaled to their exact mass when
    ``ppr_keep_mass``) plus, when ``ppr_rank`` > 0, rank-``ppr_rank`` factors (U, V) of the
    entries it drops (:func:`~graphclust.diffusion.ppr_lowrank_residual`); S = matrix + U V."""
    if diffusion == "none":
        return gcn_norm(graph.adjacency), None
    if diffusion == "ppr":
        if ppr_k is None:
            return ppr_exact(graph.adjacency, alpha, max_dense_gb=max_dense_gb), None
        s = ppr_topk(graph.adjacency, alpha, k=ppr_k, eps=ppr_eps, keep_mass=ppr_keep_mass)
        if ppr_rank == 0:
            return s, None
        return s, ppr_lowrank_residual(graph.adjacency, s, alpha, rank=ppr_rank)
    raise ValueError(f"diffusion must be 'none' or 'ppr' but got {diffusion!r}.")


class DGI(BaseGraphClusterer):
    """Deep Graph Infomax embedding + k-means (dgi.txt, transductive setting).

    Parameters
    ----------
    n_clusters : int, default 7
        Clusters for the k-means run on the embedding.
    hidden : int, default 512
        Embedding width F' (paper: 512; 256 on PubMed for memory).
    lr : float, default 0.001
    max_epochs : int, default 10000
        Upper bound; training normally ends by early stopping.
    patience : int, default 20
        Epochs without a lower training loss before stopping (paper: 20).
    diffusion : {"none", "ppr"}, default "none"
        "none" is DGI; "ppr" replaces the normalised adjacency by PPR diffusion (GMIM's
        "MI + Diffusion" ablation).
    alpha, ppr_k, ppr_eps : PPR teleport (0.2), entries kept per node (64; None = exact
        dense PPR), truncation threshold (1e-4).
    ppr_rank : int, default 8
        Rank of the correction for the PPR entries the top-k cut drops: S = S_k + U V
        (:func:`~graphclust.diffusion.ppr_lowrank_residual`); 0 = none.
    ppr_keep_mass : bool, default False
        Without the low-rank correction (``ppr_rank=0``): rescale each node's kept top-k
        entries to its exact PPR mass (:func:`~graphclust.diffusion.ppr_topk`
        ``keep_mass``). Both account for the dropped entries, so both at once is an error.
    n_init : int, default 10
        k-means restarts.
    max_dense_gb : float, default 4
        Budget for dense N x N work (exact PPR).
    random_state, device, verbose : see :class:`~graphclust.base.BaseGraphClusterer`.

    Attributes
    ----------
    embedding_ : ndarray (N, hidden)
    labels_ : ndarray (N,)
    n_epochs_ : int
    best_loss_ : float
    """

    def __init__(
        self,
        n_clusters: int = 7,
        *,
        hidden: int = 512,
        lr: float = 0.001,
        max_epochs: int = 10000,
        patience: int = 20,
        diffusion: Diffusion = "none",
        alpha: float = 0.2,
        ppr_k: int | None = 64,
        ppr_eps: float = 1e-4,
        ppr_rank: int = 8,
        ppr_keep_mass: bool = False,
        n_init: int = 10,
        max_dense_gb: float = DEFAULT_MAX_DENSE_GB,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.hidden = hidden
        self.lr = lr
        self.max_epochs = max_epochs
        self.patience = patience
        self.diffusion = diffusion
        self.alpha = alpha
        self.ppr_k = ppr_k
        self.ppr_eps = ppr_eps
        self.ppr_rank = ppr_rank
        self.ppr_keep_mass = ppr_keep_mass
        self.n_init = n_init
        self.max_dense_gb = max_dense_gb
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_positive_int("hidden", self.hidden)
        check_positive_int("patience", self.patience)
        check_positive_int("n_init", self.n_init)
        check_positive_float("lr", self.lr)
        check_bool("ppr_keep_mass", self.ppr_keep_mass)
        check_positive_int("ppr_rank", self.ppr_rank, minimum=0)
        if self.diffusion == "ppr" and self.ppr_keep_mass and self.ppr_rank > 0:
            raise ValueError(
                f"ppr_keep_mass=True and ppr_rank={self.ppr_rank} both stand in for the PPR "
                "entries the top-k cut drops; use one: ppr_rank=0 with ppr_keep_mass=True, "
                "or ppr_keep_mass=False (default) with the low-rank correction."
            )
        if graph.n_features == 0:
            raise ValueError(
                f"Graph {graph.name!r} has no node features (F = 0); DGI needs features."
            )

    def _prepare(self, graph: Graph, device: torch.device) -> tuple[FixedMatrix, FixedMatrix]:
        s, low_rank = propagation_matrix(
            graph, self.diffusion, self.alpha, self.ppr_k, self.ppr_eps, self.max_dense_gb,
            self.ppr_keep_mass, self.ppr_rank,
        )
        x = to_torch(row_normalize(graph.features, only_nonnegative=True), device)
        factors = None if low_rank is None else (
            torch.as_tensor(low_rank[0], device=device), torch.as_tensor(low_rank[1], device=device)
        )
        return FixedMatrix(x), FixedMatrix(to_torch(s, device), factors)

    def _pretrain(
        self,
        x: FixedMatrix,
        s: FixedMatrix,
        device: torch.device,
        rng: np.random.Generator,
        max_epochs: int,
    ) -> InfomaxModel:
        model = InfomaxModel(x.shape[1], self.hidden).to(device)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        self.best_loss_, self.n_epochs_ = train_infomax(
            model,
            x,
            s,
            lr=self.lr,
            max_epochs=max_epochs,
            patience=self.patience,
            generator=gen,
            on_epoch=lambda e, v: self._log_epoch("pretrain", e, max_epochs, mi=v),
        )
        return model

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        check_positive_int("max_epochs", self.max_epochs)
        x, s = self._prepare(graph, device)
        model = self._pretrain(x, s, device, rng, self.max_epochs)
        model.eval()
        with torch.no_grad():
            self.embedding_ = model.encoder(x, s).cpu().numpy()
        self.model_ = model
        km = KMeans(self.n_clusters, n_init=self.n_init, random_state=int(rng.integers(2**31)))
        self.labels_ = km.fit_predict(self.embedding_).astype(np.int64)
        self.device_ = device

    def transform(self, graph: Graph | None = None) -> np.ndarray:
        """The learned embedding (N, hidden) of the training graph (transductive)."""
        self._check_fitted()
        return self.embedding_
