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
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from torch import nn

from graphclust.base import (
    BaseGraphClusterer,
    check_bool,
    check_choice,
    check_positive_float,
    check_positive_int,
)
from graphclust.diffusion import DEFAULT_MAX_DENSE_GB, propagation_matrix
from graphclust.distributed import shard, share_from_rank0, world
from graphclust.graph import Graph, rcm_order
from graphclust.memory import check_fits
from graphclust.nn.infomax import BatchForward, InfomaxModel, infomax_loss
from graphclust.nn.sparse import BatchPropagation, FixedMatrix, to_torch
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
    batch_size : int or None, default None
        None trains on the whole graph each step (the paper). An int trains on node
        batches of that size: each batch's rows of S X W and of the corrupted S X[perm] W
        (:class:`~graphclust.nn.sparse.BatchPropagation`; one corruption permutation per
        epoch, over all the nodes), the summary s the batch's readout. Memory then holds a
        batch's activations instead of ~9 N x hidden blocks. Under ``torch.distributed`` (more than
        one rank in the default process group, e.g. ``graphclust run ... --nproc 2``)
        every rank takes its share of each global batch of ``batch_size`` x ranks nodes
        and the gradients are averaged (:mod:`graphclust.distributed`).
    batch_steps : {"epoch", "batch"}, default "epoch"
        With ``batch_size``: "epoch" takes one Adam step an epoch on the gradient summed
        over the epoch's batches (the full-batch gradient computed batch by batch, up to
        the per-batch summary: memory of one batch, the full batch's trajectory); "batch"
        steps after every batch, at ``lr`` x (batch / N) (mini-batch SGD).
    kmeans_batch_size : int or None, default None
        None: k-means by Lloyd's algorithm on all the points (scikit-learn's ``KMeans``). An
        int: scikit-learn's ``MiniBatchKMeans`` with batches of that many points, for the
        clustering of 10^5-10^6 embeddings.
    node_order : {"given", "rcm"}, default "given"
        "rcm" trains on the nodes renumbered by reverse Cuthill-McKee
        (:func:`~graphclust.graph.rcm_order`) for cache locality in the sparse products of
        large graphs (one S @ B at 10^6 nodes: 9.5 -> 7.8 s); the per-node results
        (``embedding_``, ``labels_``, ...) come back in the given order. The same maths in
        another node order: a seed gives other numbers than with "given".
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
    batch_size: int | None = None
    batch_steps: Literal["epoch", "batch"] = "epoch"
    kmeans_batch_size: int | None = None
    node_order: Literal["given", "rcm"] = "given"

    #: the per-node learned attributes, put back in the given order after a reordered fit
    _per_node: ClassVar[tuple[str, ...]] = ("embedding_", "labels_")

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        for name in ("batch_size", "kmeans_batch_size"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        check_choice("batch_steps", self.batch_steps, ("epoch", "batch"))
        check_choice("node_order", self.node_order, ("given", "rcm"))
        w = world()
        if w.size > 1 and self.batch_size is None:
            raise ValueError(
                f"torch.distributed is running with {w.size} ranks but batch_size=None: a "
                f"full-batch fit would repeat the same work on every rank. Set batch_size "
                f"(node batches per rank), or run one process.")
        if w.size > 1 and self.checkpoint is not None:
            raise ValueError(f"checkpoint is not supported with {w.size} ranks yet; set "
                             "checkpoint=None or run one process.")
        if self.batch_size is not None and self.diffusion == "ppr" and self.ppr_k is None:
            raise ValueError(
                "batch_size needs a sparse S (rows per batch) but ppr_k=None is the dense "
                "exact PPR; set ppr_k (default 64) or batch_size=None.")
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

    def _propagation(self, graph: Graph, rng: np.random.Generator
                     ) -> tuple[Any, tuple[np.ndarray, np.ndarray] | None]:
        """S (and its low-rank factors), after checking that the fit's memory fits
        (:meth:`_check_memory`); with several ranks, rank 0 computes it and the others map
        its files (:func:`~graphclust.distributed.share_from_rank0`)."""
        self._check_memory(graph)
        seed = int(rng.integers(2**31))

        def compute() -> dict[str, Any]:
            s, low_rank = propagation_matrix(
                graph.adjacency, self.diffusion, alpha=self.alpha, ppr_k=self.ppr_k,
                ppr_eps=self.ppr_eps, ppr_keep_mass=self.ppr_keep_mass,
                ppr_rank=self.ppr_rank, max_dense_gb=self.max_dense_gb, random_state=seed)
            return {"s": s, "low_rank": low_rank}

        out = share_from_rank0(compute, world())
        return out["s"], out["low_rank"]

    def _prepare(
        self, graph: Graph, device: torch.device, rng: np.random.Generator
    ) -> tuple[FixedMatrix, FixedMatrix]:
        """(X row-normalised, S) as fixed matrices on ``device`` (the full-batch fit)."""
        s, low_rank = self._propagation(graph, rng)
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
        dense features. With ``batch_size`` the activations are a batch's (and its B x F
        input rows, clean and corrupted), plus up to four N x hidden blocks (the embedding
        for EM and k-means; X W and its gradient when the products go that way)."""
        n, f = graph.n_nodes, graph.n_features
        if self.diffusion == "none":  # S = the normalised adjacency: its own entries
            k = int(graph.adjacency.nnz / max(n, 1)) + 1
        else:
            k = n if self.ppr_k is None else min(int(self.ppr_k), n)
        rows = n if self.batch_size is None else min(int(self.batch_size), n)
        parts = {"activations": 9.0 * rows * self.hidden * 4, "diffusion": 3.0 * n * k * 12,
                 "features": 2.0 * n * f * 4}
        if self.batch_size is not None:
            # + S X, S X[perm], X[perm]; S's rows as bags (int64 indices)
            parts["batch inputs"] = 4.0 * rows * f * 4 + 3.0 * n * f * 4 + n * k * 8
            parts["embedding"] = 4.0 * n * self.hidden * 4
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

    # ------------------------------------------------------------ mini-batch training
    def _prepare_rows(self, graph: Graph, device: torch.device, rng: np.random.Generator
                      ) -> BatchPropagation:
        """The products (S X W)_B of the mini-batch fit."""
        s, low_rank = self._propagation(graph, rng)
        assert self.batch_size is not None
        rows = BatchPropagation(s, row_normalize(graph.features, only_nonnegative=True),
                                low_rank, device, self.batch_size,
                                shared=self.batch_steps == "epoch")
        log.info("%s: mini-batch products by %r", type(self).__name__, rows.mode)
        return rows

    def _node_batches(self, n: int, gen: torch.Generator) -> Iterator[np.ndarray]:
        """This rank's node batches of one epoch: consecutive global batches of
        ``batch_size`` x ranks nodes of a random order (the same on every rank), each split
        among the ranks; a last global batch with fewer nodes than ranks is skipped."""
        w = world()
        assert self.batch_size is not None
        order = torch.randperm(n, generator=gen).numpy()
        size = self.batch_size * w.size
        for start in range(0, n, size):
            batch = order[start:start + size]
            if len(batch) >= w.size:
                yield shard(batch, w)

    def _data_parallel(self, model: InfomaxModel, device: torch.device) -> nn.Module:
        """The module the training loop steps: :class:`BatchForward`, wrapped in
        :class:`~torch.nn.parallel.DistributedDataParallel` under several ranks (it starts
        every rank from rank 0's weights and averages the gradients)."""
        net: nn.Module = BatchForward(model)
        if world().size > 1:
            ids = [device.index or 0] if device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(net, device_ids=ids)
        return net

    def _batch_lr(self, n: int) -> float:
        """The learning rate of one step on node batches: ``lr`` with ``batch_steps="epoch"``
        (one step an epoch, as the full batch); with "batch", ``lr`` x (global batch / N).
        ``lr`` is the full batch's; an epoch of N / B steps at ``lr`` each moves the weights
        about N / B times as far under Adam and, on Cora, left a worse embedding (MI +
        k-means, seed 0: 69.3 ACC at lr, 73.8 at lr B / N, full batch 75.4): the linear
        scaling rule (Goyal et al., 2017) read from the full batch down."""
        assert self.batch_size is not None
        if self.batch_steps == "epoch":
            return self.lr
        return self.lr * min(1.0, self.batch_size * world().size / n)

    def _embed_rows(self, model: InfomaxModel, rows: BatchPropagation,
                    nodes: np.ndarray | None = None) -> torch.Tensor:
        """H of ``nodes`` (default all), (len, hidden): in chunks of ``batch_size`` when the
        products go by rows of S X (B x F inputs each), in one call when they go through
        X W (formed once instead of once a chunk; the output is that size anyway)."""
        nodes = np.arange(rows.shape[0]) if nodes is None else nodes
        step = len(nodes) if rows.mode == "project" else int(self.batch_size or len(nodes))
        with torch.no_grad():
            return torch.cat([model.embed_batch(rows, nodes[i:i + step])
                              for i in range(0, len(nodes), step)])

    def _pretrain_rows(self, rows: BatchPropagation, device: torch.device,
                       rng: np.random.Generator) -> InfomaxModel:
        """Infomax training (eq. 1) on node batches, early stopping on the epoch loss
        (averaged over the ranks); the best-loss weights come back."""
        n = rows.shape[0]
        model = InfomaxModel(rows.shape[1], self.hidden).to(device)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        net = self._data_parallel(model, device)

        def batches(epoch: int) -> Iterator[np.ndarray]:
            rows.set_corruption(torch.randperm(n, generator=gen).numpy())
            return self._node_batches(n, gen)

        def step(epoch: int, idx: np.ndarray, last: bool = True
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            # with one step an epoch, a batch but the last leaves W's gradient to the last
            # (BatchPropagation.products, defer)
            pos, neg, _ = net(rows, idx, not last)
            loss = infomax_loss(pos, neg)
            return loss, {"mi": loss}

        result = self._train("pretrain", net, step, n_epochs=self.pretrain_epochs,
                             lr=self._batch_lr(n), patience=self.patience, batches=batches,
                             state={"gen": gen}, reduce_loss=world().mean,
                             accumulate=self.batch_steps == "epoch")
        self.best_loss_ = result.best_loss
        model.eval()
        return model

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        """:meth:`_fit_ordered` on the graph in ``node_order``; the per-node results are
        put back in the given order."""
        if self.node_order == "given":
            self._fit_ordered(graph, device, rng)
            return
        with self._timed("diffusion"):  # the reordering counts as preparing S
            order = rcm_order(graph.adjacency)
            graph = graph.permuted(order)
        self._fit_ordered(graph, device, rng)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        for name in self._per_node:
            setattr(self, name, getattr(self, name)[inverse])

    def _fit_ordered(self, graph: Graph, device: torch.device, rng: np.random.Generator
                     ) -> None:
        if self.batch_size is not None:
            with self._timed("diffusion"):
                rows = self._prepare_rows(graph, device, rng)
            model = self._pretrain_rows(rows, device, rng)
            with self._timed("cluster"):
                self.embedding_ = self._embed_rows(model, rows).cpu().numpy()
                self._cluster(model, device, rng)
            return
        with self._timed("diffusion"):
            x, s = self._prepare(graph, device, rng)
        model = self._pretrain(x, s, device, rng)
        with self._timed("cluster"):
            with torch.no_grad():
                self.embedding_ = model.embed(x, s).cpu().numpy()
            self._cluster(model, device, rng)

    def _cluster(self, model: InfomaxModel, device: torch.device, rng: np.random.Generator
                 ) -> None:
        """k-means on ``embedding_`` (the same on every rank: same data, same seed)."""
        km = self._kmeans(self.embedding_, rng)
        self.labels_ = km.labels_.astype(np.int64)
        self.model_ = model
        self.cluster_centers_ = km.cluster_centers_
        self.device_ = device

    def _kmeans_model(self, init: Any, n_init: int, seed: int) -> KMeans | MiniBatchKMeans:
        """An unfitted k-means (``KMeans``, or ``MiniBatchKMeans`` with
        ``kmeans_batch_size``)."""
        if self.kmeans_batch_size is None:
            return KMeans(self.n_clusters, init=init, n_init=n_init, random_state=seed)
        return MiniBatchKMeans(self.n_clusters, init=init, n_init=n_init, random_state=seed,
                               batch_size=int(self.kmeans_batch_size))

    def _kmeans(self, h: np.ndarray, rng: np.random.Generator) -> KMeans | MiniBatchKMeans:
        """k-means with ``n_init`` k-means++ starts, seeded from ``rng`` (fitted estimator)."""
        return self._kmeans_model("k-means++", self.n_init, int(rng.integers(2**31))).fit(h)

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
