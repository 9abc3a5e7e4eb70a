"""DGI: Deep Graph Infomax (Velickovic, Fedus, Hamilton, Lio, Bengio, Hjelm, "Deep Graph
Infomax", ICLR 2019, https://arxiv.org/abs/1809.10341), transductive setting.

A one-layer GCN encoder ``H = PReLU(D^-1/2 (A+I) D^-1/2 X W)`` (eq. 8) is trained to tell
node embeddings of the graph from those of a corrupted graph (rows of X shuffled) against
the summary ``s = sigmoid(mean(H))`` (eq. 9) with a bilinear discriminator and the BCE
objective (eq. 1). Adam, lr 0.001, early stopping on the training loss with patience 20,
best weights kept in memory; non-negative features (bag-of-words, pixels) are
row-normalised as in the paper's preprocessing, features with negative values are used as is.
``fit`` then clusters the frozen embedding with k-means; ``transform`` returns it, or
computes it on another graph with the same features.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from graphclust.base import (
    BaseGraphClusterer,
    check_bool,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from graphclust.diffusion import DEFAULT_MAX_DENSE_GB, propagation_matrix
from graphclust.graph import Graph
from graphclust.memory import check_fits
from graphclust.nn.infomax import InfomaxModel, infomax_loss
from graphclust.nn.sparse import FixedMatrix, to_torch
from graphclust.preprocessing import row_normalize

__all__ = ["DGI"]

log = logging.getLogger(__name__)

Diffusion = Literal["none", "ppr"]


@dataclass(repr=False, eq=False)
class DGI(BaseGraphClusterer):
    """Deep Graph Infomax embedding + k-means (see the module docstring).

    Parameters
    ----------
    n_clusters : int, default 7
        Clusters for the k-means run on the embedding.
    hidden : int, default 512
        Embedding width F' (paper: 512; 256 on PubMed for memory).
    lr : float, default 0.001
        Adam learning rate.
    pretrain_epochs : int, default 10000
        Budget of the infomax training (the representation phase every method calls
        pre-training); training normally ends by early stopping first.
    patience : int, default 20
        Epochs without a lower training loss before stopping (paper: 20).
    diffusion : {"none", "ppr"}, default "none"
        "none" is DGI; "ppr" replaces the normalised adjacency by PPR diffusion (GMIM's
        "MI + Diffusion" ablation); S comes from
        :func:`~graphclust.diffusion.propagation_matrix`.
    alpha, ppr_k, ppr_eps : PPR teleport (0.2), entries kept per node (64; None = exact
        dense PPR), truncation threshold (1e-4).
    ppr_rank : int, default 8
        Rank of the correction for the PPR entries the top-k cut drops: S = S_k + U V
        (:func:`~graphclust.diffusion.ppr_lowrank_residual`, seeded from
        ``random_state``); 0 = none.
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
    n_iter_ : int
        Epochs of infomax training run (``n_iter_per_phase_["pretrain"]``).
    converged_ : bool
        Early stopping fired before the budget ran out.
    best_loss_ : float
        The restored weights' training loss.
    """

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(hidden=16, pretrain_epochs=30, patience=10, n_init=2)

    supports_checkpoint: ClassVar[bool] = True  # the corruption generator is registered

    n_clusters: int = 7
    _: KW_ONLY
    hidden: int = 512
    lr: float = 0.001
    pretrain_epochs: int = 10000
    patience: int = 20
    diffusion: Diffusion = "none"
    alpha: float = 0.2
    ppr_k: int | None = 64
    ppr_eps: float = 1e-4
    ppr_rank: int = 8
    ppr_keep_mass: bool = False
    n_init: int = 10
    max_dense_gb: float = DEFAULT_MAX_DENSE_GB

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        for name in ("hidden", "patience", "n_init", "pretrain_epochs"):
            check_positive_int(name, getattr(self, name))
        check_positive_float("lr", self.lr)
        check_bool("ppr_keep_mass", self.ppr_keep_mass)
        check_positive_int("ppr_rank", self.ppr_rank, minimum=0)
        check_choice("diffusion", self.diffusion, ("none", "ppr"))
        if self.diffusion == "ppr" and self.ppr_keep_mass and self.ppr_rank > 0:
            raise ValueError(
                f"ppr_keep_mass=True and ppr_rank={self.ppr_rank} both stand in for the PPR "
                "entries the top-k cut drops; use one: ppr_rank=0 with ppr_keep_mass=True, "
                "or ppr_keep_mass=False (default) with the low-rank correction."
            )
        if graph.n_features == 0:
            raise ValueError(
                f"Graph {graph.name!r} has no node features (F = 0); {type(self).__name__} "
                "needs features."
            )

    def _prepare(
        self, graph: Graph, device: torch.device, rng: np.random.Generator
    ) -> tuple[FixedMatrix, FixedMatrix]:
        """(X row-normalised, S) as fixed matrices on ``device``, after checking that the
        fit's memory fits (:meth:`_check_memory`)."""
        self._check_memory(graph)
        s, low_rank = propagation_matrix(
            graph.adjacency, self.diffusion, alpha=self.alpha, ppr_k=self.ppr_k,
            ppr_eps=self.ppr_eps, ppr_keep_mass=self.ppr_keep_mass, ppr_rank=self.ppr_rank,
            max_dense_gb=self.max_dense_gb, random_state=int(rng.integers(2**31)),
        )
        x = to_torch(row_normalize(graph.features, only_nonnegative=True), device)
        factors = None if low_rank is None else (
            torch.as_tensor(low_rank[0], device=device), torch.as_tensor(low_rank[1], device=device)
        )
        return FixedMatrix(x), FixedMatrix(to_torch(s, device), factors)

    def _check_memory(self, graph: Graph) -> None:
        """Stop before the diffusion when the fit would not fit in memory. The estimate,
        measured on degree-corrected csbm graphs of 100,000 nodes (128 features, k = 64;
        peak RSS over the process's before the fit: 735 MB at hidden 128, 2,055 MB at 512,
        the estimate 790 and 2,180 MB): about 9 float32 N x hidden blocks live in a
        training step (H, PReLU, the corrupted pass, their gradients), 3 copies of the
        top-k PPR's N k entries while it is built (8 + 4 bytes each), 2 copies of the
        dense features."""
        n, f = graph.n_nodes, graph.n_features
        if self.diffusion == "none":  # S = the normalised adjacency: its own entries
            k = int(graph.adjacency.nnz / max(n, 1)) + 1
        else:
            k = n if self.ppr_k is None else min(int(self.ppr_k), n)
        parts = {"activations": 9.0 * n * self.hidden * 4, "diffusion": 3.0 * n * k * 12,
                 "features": 2.0 * n * f * 4}
        check_fits(sum(parts.values()), f"{type(self).__name__} on {n} nodes (hidden "
                   f"{self.hidden}, ppr_k {self.ppr_k})", parts,
                   "lower hidden (the activations grow with N x hidden) or ppr_k, or use a "
                   "machine with more memory")

    def _pretrain(
        self, x: FixedMatrix, s: FixedMatrix, device: torch.device, rng: np.random.Generator
    ) -> InfomaxModel:
        """Infomax training (eq. 1) with early stopping; the best-loss weights come back."""
        model = InfomaxModel(x.shape[1], self.hidden).to(device)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        n = x.shape[0]

        def step(epoch: int, batch: None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            perm = torch.randperm(n, generator=gen).to(device)  # the corruption
            pos, neg, _ = model(x, s, perm)
            loss = infomax_loss(pos, neg)
            return loss, {"mi": loss}

        result = self._train("pretrain", model, step, n_epochs=self.pretrain_epochs,
                             lr=self.lr, patience=self.patience, state={"gen": gen})
        self.best_loss_ = result.best_loss
        model.eval()
        return model

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        with self._timed("diffusion"):
            x, s = self._prepare(graph, device, rng)
        model = self._pretrain(x, s, device, rng)
        with self._timed("cluster"):
            with torch.no_grad():
                self.embedding_ = model.embed(x, s).cpu().numpy()
            km = KMeans(self.n_clusters, n_init=self.n_init,
                        random_state=int(rng.integers(2**31)))
            self.labels_ = km.fit_predict(self.embedding_).astype(np.int64)
        self.model_ = model
        self.cluster_centers_ = km.cluster_centers_
        self.device_ = device

    def _embed_new(self, graph: Graph) -> torch.Tensor:
        """The fitted encoder's H on another graph with the same features (same S recipe)."""
        self._check_same_features(graph)
        x, s = self._prepare(graph, self.device_, np.random.default_rng(self.random_state))
        with torch.no_grad():
            return self.model_.embed(x, s)

    def transform(self, graph: Graph | None = None) -> np.ndarray:
        """The embedding (N, hidden): of the training graph for ``None``, else the fitted
        encoder applied to ``graph`` (its own S, same ``n_features``)."""
        self._check_fitted()
        if graph is None:
            return self.embedding_
        return self._embed_new(graph).cpu().numpy()

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """Nearest k-means centre of each node's embedding (``labels_`` for ``None``)."""
        self._check_fitted()
        if graph is None:
            return self.labels_
        return pairwise_distances_argmin(self.transform(graph), self.cluster_centers_).astype(np.int64)
