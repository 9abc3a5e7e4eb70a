"""GCC: Graph Contrastive Clustering (Zhong, Wu, Chen, Huang, Deng, Nie, Lin, Hua, ICCV 2021,
https://arxiv.org/abs/2104.01429), for images and for attributed graphs.

The text we have is a summary article ([S], ``shared/papers/gcc.txt``); the facts it leaves
out come from the authors' code ([G], read only, CC BY-NC) as ``gcc-notes.md`` records them.

A backbone maps each view of a sample to a representation h; a contrastive head maps h to a
unit vector z and a cluster head (one linear layer, softmax) to assignments q. Training:

1. **Warm-up** (``warmup_epochs``): two views per sample, plain instance contrast as [G]
   codes it: a softmax of each first view over the batch's first and second views (its own
   second view the positive; itself, the other samples' views the rest of the denominator),
   AGC and CR off ([G]: epochs 0-50 of 1000).
2. **The graph A(t)**: at the end of the warm-up, and every ``graph_every`` epochs after,
   the k-NN graph (k = ``n_neighbors``, cosine, exact: :func:`~graphclust.neighbors.
   knn_indices`) of a memory of the second views' z, averaged over the last
   ``memory_epochs`` epochs ([G]: k = 5, the mean of 4 records, rebuilt every 5 epochs).
   Each sample's list holds itself and its k nearest (``join_edges``: and its input
   neighbours); d_j counts j's symmetrised list.
3. **GCC epochs**: each anchor i draws one sample j of its list (possibly itself, as [G]); a
   third forward pass encodes a view of j. Loss ``rgc_weight`` RGC + ``agc_weight`` AGC +
   ``cr_weight`` CR ([G]'s 2, 1, 2 = [S]'s lambda 0.5, eta 1; :mod:`graphclust.nn.
   graph_contrastive`), RGC with positives the anchor's second view (weight 1) and its
   neighbour's view (weight 1 / sqrt(d_j): -L_ij with the anchor's constant 1 / sqrt(d_i)
   dropped, as [G]), negatives every other first view (the anchor's own among them, as [G]),
   second view and neighbour view of the batch. [G] takes three neighbours (entries 1-3 of
   the list) for RGC and a fourth, random one for AGC: four more passes a step where ours
   takes one, for the CPU.
4. Labels: argmax q of the un-augmented inputs at the last epoch (never an epoch chosen by
   accuracy: [G] keeps the checkpoint of best ground-truth ACC); ``embedding_`` is h.

The learning rate follows a cosine from ``lr`` to 0 over all epochs (Adam; [G]: SGD 0.4,
momentum 0.9, 1000 epochs on ResNet-18: sized down for CPU as the notes propose).

**Inputs, chosen by the data (no dataset names):**

* images (``graph.meta["image_shape"] = (C, H, W)``, set by the image loaders): a
  :class:`~graphclust.nn.backbones.SmallCNN`; views :class:`~graphclust.nn.augment.ImageViews`
  (no flips);
* attributed graphs (edges, ``propagation_hops`` > 0): an MLP on [X, AX, ..., A^h X] with
  A = D^-1/2 (A + I) D^-1/2, precomputed for ``edge_views`` copies of the graph with a
  fraction ``edge_drop`` of its edges removed; a view picks one copy per sample and masks a
  fraction ``feature_mask`` of the columns (GRACE's two perturbations, mini-batchable);
* other feature vectors: an MLP, views by feature masking.

With ``objective="instance"`` the graph, AGC and CR are never used and the labels are
k-means of h (SimCLR-style instance contrast + k-means on the same backbone and views: the
baseline GCC must beat).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans
from torch import nn

from graphclust.base import (
    BaseGraphClusterer,
    check_choice,
    check_positive_float,
    check_positive_int,
    minibatches,
)
from graphclust.diffusion import gcn_norm
from graphclust.graph import Graph
from graphclust.methods.vade import warn_if_collapsed
from graphclust.neighbors import knn_indices
from graphclust.nn.augment import ImageViews, resize_images
from graphclust.nn.backbones import MLPEncoder, ProjectionHead, SmallCNN
from graphclust.nn.graph_contrastive import agc_loss, cluster_regularizer, rgc_loss

log = logging.getLogger(__name__)

__all__ = ["GCC", "SimCLR", "join_input_edges", "neighbor_lists", "propagated_features"]

View = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


# ---------------------------------------------------------------- pure pieces
def _knn_lists(embedding: torch.Tensor, k: int) -> torch.Tensor:
    """(N, k + 1) int64: each row the sample, then its k nearest by cosine."""
    idx, _ = knn_indices(embedding.detach().cpu().numpy(), k, metric="cosine")
    return torch.cat([torch.arange(idx.shape[0])[:, None], idx], 1)


def neighbor_lists(embedding: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A(t) of GCC step 2: (lists (N, k + 1) int64, each row the sample then its k nearest by
    cosine; degrees (N,) float, the size of each sample's symmetrised list, itself included)."""
    lists = _knn_lists(embedding, k)
    return lists, join_input_edges(lists, None)[2]


def join_input_edges(lists: torch.Tensor, adjacency: sp.spmatrix | None
                     ) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """A(t) as CSR lists to draw neighbours from: (indptr (N + 1,), indices, degrees (N,)).

    Row i holds i, its k-NN ``lists[i, 1:]``, then (``adjacency`` given) its input neighbours
    not already there; degrees count each sample's symmetrised union, itself included. With
    ``adjacency=None`` the rows are ``lists`` and the degrees those of :func:`neighbor_lists`.
    """
    n, width = lists.shape
    knn_cols = lists[:, 1:].numpy().ravel()
    knn_rows = np.repeat(np.arange(n), width - 1)
    knn = sp.csr_matrix((np.ones(knn_cols.size, np.float32), (knn_rows, knn_cols)), shape=(n, n))
    knn.sum_duplicates()
    union = knn + knn.T
    rows, cols, keys = [np.arange(n), knn_rows], [np.arange(n), knn_cols], [
        np.zeros(n), np.tile(np.arange(1, width), n)]
    if adjacency is not None:
        adj = sp.csr_matrix(adjacency, dtype=np.float32, copy=True)
        adj.setdiag(0)
        adj.eliminate_zeros()
        adj.data[:] = 1.0
        union = union + adj + adj.T
        extra = (adj - adj.multiply(knn > 0)).tocoo()  # input edges the k-NN list lacks
        keep = extra.data > 0
        rows.append(extra.row[keep])
        cols.append(extra.col[keep])
        keys.append(np.full(int(keep.sum()), width))
    union = sp.csr_matrix(union)
    union.setdiag(0)
    union.eliminate_zeros()
    degrees = torch.as_tensor(np.diff(union.indptr) + 1.0, dtype=torch.float32)
    r, c, key = np.concatenate(rows), np.concatenate(cols), np.concatenate(keys)
    order = np.lexsort((key, r))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))])
    return indptr, c[order].astype(np.int64), degrees


def propagated_features(features: np.ndarray, adjacency: sp.csr_matrix, hops: int,
                        edge_drop: float, copies: int, rng: np.random.Generator
                        ) -> np.ndarray:
    """(copies, N, (hops + 1) F) float32: [X, AX, ..., A^hops X] per copy, A the GCN
    normalisation of the graph with each undirected edge dropped with probability
    ``edge_drop`` (copy 0 keeps every edge: the un-augmented input)."""
    upper = sp.triu(adjacency, k=1).tocoo()
    out = []
    for c in range(copies):
        keep = np.ones(upper.nnz, bool) if c == 0 else rng.random(upper.nnz) >= edge_drop
        half = sp.csr_matrix((upper.data[keep], (upper.row[keep], upper.col[keep])),
                             shape=adjacency.shape)
        norm = gcn_norm(half + half.T)
        blocks, h = [features], features
        for _ in range(hops):
            h = np.asarray(norm @ h, dtype=np.float32)
            blocks.append(h)
        out.append(np.concatenate(blocks, 1).astype(np.float32))
    return np.stack(out)


def _feature_view(mask: float) -> View:
    def view(x: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if x.ndim == 3:  # (copies >= 2, N, F): one edge-dropped copy per sample, never copy 0
            copy = 1 + torch.randint(x.shape[0] - 1, (idx.shape[0],), generator=gen)
            rows = x[copy.to(x.device), idx]
        else:
            rows = x.index_select(0, idx)
        if mask > 0:
            keep = (torch.rand(rows.shape[1], generator=gen) >= mask).to(rows.device)
            rows = rows * keep
        return rows
    return view


def _image_view(views: ImageViews) -> View:
    def view(x: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return views(x.index_select(0, idx), gen)
    return view


# ---------------------------------------------------------------- the estimator
@dataclass(repr=False, eq=False)
class GCC(BaseGraphClusterer):
    """Graph Contrastive Clustering.

    Parameters
    ----------
    n_clusters : int, default 10
    backbone : {"auto", "cnn", "mlp"}, default "auto"
        "auto": the CNN when the graph carries ``meta["image_shape"]``, else the MLP.
    channels : tuple of int, default (32, 64, 128)
        The CNN's blocks (a 2x2 max-pool between blocks).
    widths : tuple of int, default (512, 512)
        The MLP's layers.
    embedding_dim : int, default 128
        Output of the contrastive head (the authors' 128).
    n_epochs, warmup_epochs : default 100, 10
        All epochs, and the instance-contrast warm-up among them (the notes' 10 %).
    min_steps : int, default 3000
        On small data both are raised in proportion until the fit takes at least this many
        optimiser steps (``n_epochs_``, ``warmup_epochs_`` hold what ran): 100 epochs are
        3,700-4,000 steps of 256 on the 10k image sets, 600 on COIL-20's 1,440 images.
    batch_size, lr : default 256, 0.001
        Mini-batch Adam with a cosine schedule from ``lr`` to 0.
    tau, tau_agc : default 0.1, 1.0
        Temperatures of RGC (and of the warm-up) and of AGC ([G]).
    n_neighbors, graph_every, memory_epochs : default 5, 5, 4
        k of A(t), its rebuild period in epochs, the epochs of z averaged for it ([G]).
    rgc_weight, agc_weight, cr_weight : default 2.0, 1.0, 2.0
        Weights of the three losses ([G]).
    objective : {"gcc", "instance"}, default "gcc"
        "instance": the SimCLR-style baseline (no graph, no AGC/CR, k-means of h).
    rotation, shift, crop_area, crop_aspect, brightness, contrast, cutout : image views
        (degrees; fraction of the side; the random resized crop's (low, high) fraction of the
        area and aspect ratio; strengths; cutout probability with a 0.3-side square);
        defaults 15, 0.1, (0.5, 1), (3/4, 4/3), 0.4, 0.4, 0.5.
    image_size : int or None, default None
        Resize the images once to ``image_size`` x ``image_size`` (antialiased bilinear)
        before training; None keeps their size. The CNN's cost grows with the pixels (a
        28 x 28 image costs ~3x a 16 x 16 one).
    feature_mask, edge_drop, edge_views, propagation_hops : vector views; defaults 0.3,
        0.2, 4, 2 (graphs only for the last three).
    join_edges : bool, default False
        A(t) = the k-NN graph joined with the input edges (the issue's option for attributed
        graphs): neighbours are drawn from the union, degrees count it.
    n_init : int, default 10
        k-means restarts (``objective="instance"``).
    n_heads : int, default 1
        Cluster heads trained side by side on the same representation (one matmul), each
        with its own AGC + CR; the labels come from the head with the lowest AGC + CR over
        the last epoch (label-free). Ours, after SCAN (Van Gansbeke et al., ECCV 2020),
        which trains 10 heads and keeps the lowest-loss one: a linear head on GCC's h lands
        in different partitions from different starts, and the loss ranks them (USPS, 10
        fresh heads on one frozen h: the lowest-loss head 79.0 ACC, the others 67-77).

    Attributes
    ----------
    labels_ (N,), embedding_ (N, h) the backbone's representation of the clean inputs,
    responsibilities_ (N, K) the cluster head's q (``objective="gcc"``), n_epochs_ and
    warmup_epochs_ the epochs run (see ``min_steps``), backbone_ the one used,
    graph_seconds_ the seconds of each A(t) build, neighbor_lists_ the last A(t)'s k-NN lists,
    head_losses_ (n_heads,) each head's AGC + CR over the last epoch and head_ the one kept.
    """

    n_clusters: int = 10
    _: KW_ONLY
    backbone: Literal["auto", "cnn", "mlp"] = "auto"
    channels: Sequence[int] = (32, 64, 128)
    widths: Sequence[int] = (512, 512)
    embedding_dim: int = 128
    n_epochs: int = 100
    warmup_epochs: int = 10
    min_steps: int = 3000
    batch_size: int = 256
    lr: float = 0.001
    tau: float = 0.1
    tau_agc: float = 1.0
    n_neighbors: int = 5
    graph_every: int = 5
    memory_epochs: int = 4
    rgc_weight: float = 2.0
    agc_weight: float = 1.0
    cr_weight: float = 2.0
    objective: Literal["gcc", "instance"] = "gcc"
    rotation: float = ImageViews.rotation  # the image views' defaults, kept in one place
    shift: float = ImageViews.shift
    crop_area: tuple[float, float] = ImageViews.crop_area
    crop_aspect: tuple[float, float] = ImageViews.crop_aspect
    brightness: float = ImageViews.brightness
    contrast: float = ImageViews.contrast
    cutout: float = ImageViews.cutout_p
    join_edges: bool = False
    image_size: int | None = None
    feature_mask: float = 0.3
    edge_drop: float = 0.2
    edge_views: int = 4
    propagation_hops: int = 2
    n_init: int = 10
    n_heads: int = 1

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(widths=(32, 32), channels=(8, 16), embedding_dim=16, n_epochs=4,
                    warmup_epochs=1, graph_every=1, memory_epochs=1, batch_size=64,
                    edge_views=2, n_init=1, min_steps=0)

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_choice("backbone", self.backbone, ("auto", "cnn", "mlp"))
        check_choice("objective", self.objective, ("gcc", "instance"))
        for name in ("embedding_dim", "n_epochs", "batch_size", "n_neighbors", "graph_every",
                     "memory_epochs", "edge_views", "n_init", "n_heads"):
            check_positive_int(name, getattr(self, name))
        for name in ("warmup_epochs", "propagation_hops", "min_steps"):
            check_positive_int(name, getattr(self, name), minimum=0)
        for name in ("lr", "tau", "tau_agc"):
            check_positive_float(name, getattr(self, name))
        for name in ("rgc_weight", "agc_weight", "cr_weight", "rotation", "shift",
                     "brightness", "contrast"):
            check_positive_float(name, getattr(self, name), allow_zero=True)
        for name in ("feature_mask", "edge_drop", "cutout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"{name} is a probability in [0, 1) but got {value!r}.")
        for name, top in (("crop_area", 1.0), ("crop_aspect", math.inf)):
            value = tuple(getattr(self, name))
            if len(value) != 2 or not 0 < value[0] <= value[1] <= top:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high"
                                 + (" <= 1" if top == 1 else "") + f" but got {value!r}.")
        if self.image_size is not None:
            check_positive_int("image_size", self.image_size, minimum=4)
        for name in ("channels", "widths"):
            value = tuple(getattr(self, name))
            if not value or any(isinstance(w, bool) or not isinstance(w, (int, np.integer))
                                or w < 1 for w in value):
                raise ValueError(f"{name} must list positive ints but got {value!r}.")
        if self.objective == "gcc" and self.warmup_epochs >= self.n_epochs:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs}) must be below n_epochs "
                             f"({self.n_epochs}): the graph epochs follow the warm-up.")
        if self.objective == "gcc" and self.n_neighbors >= graph.n_nodes:
            raise ValueError(f"n_neighbors must be below the number of samples "
                             f"({graph.n_nodes}) but got {self.n_neighbors}.")
        if not isinstance(self.join_edges, bool):
            raise ValueError(f"join_edges must be True or False but got {self.join_edges!r}.")
        if self.join_edges and graph.n_edges == 0:
            raise ValueError(f"join_edges=True joins the input edges to A(t), but graph "
                             f"{graph.name!r} has none; set join_edges=False.")
        if graph.n_features == 0:
            raise ValueError(f"Graph {graph.name!r} has no node features (F = 0); GCC needs "
                             "features (or images).")
        shape = graph.meta.get("image_shape")
        if self.backbone == "cnn":
            if shape is None:
                raise ValueError(f"backbone='cnn' needs images, but graph {graph.name!r} has "
                                 "no meta['image_shape'] = (C, H, W); set it or use "
                                 "backbone='mlp'.")
        if shape is not None and int(np.prod(shape)) != graph.n_features:
            raise ValueError(f"meta['image_shape'] {tuple(shape)} holds {int(np.prod(shape))} "
                             f"values but the graph has {graph.n_features} features.")

    # ------------------------------------------------------------ inputs and views
    def _inputs(self, graph: Graph, device: torch.device, rng: np.random.Generator
                ) -> tuple[torch.Tensor, torch.Tensor, View, SmallCNN | MLPEncoder]:
        """(training tensor, the clean inputs (N, ...), the view function, the backbone)."""
        meta_shape = graph.meta.get("image_shape")
        if meta_shape is not None and self.backbone in ("auto", "cnn"):  # cnn needs it: checked
            shape = tuple(int(s) for s in meta_shape)
            self.backbone_ = "cnn"
            x = torch.as_tensor(graph.dense_features().reshape(-1, *shape), device=device)
            if self.image_size is not None:
                x = resize_images(x, self.image_size)
            views = ImageViews(rotation=self.rotation, shift=self.shift,
                               crop_area=(float(self.crop_area[0]), float(self.crop_area[1])),
                               crop_aspect=(float(self.crop_aspect[0]),
                                            float(self.crop_aspect[1])),
                               brightness=self.brightness, contrast=self.contrast,
                               cutout_p=self.cutout)
            return x, x, _image_view(views), SmallCNN(int(shape[0]), tuple(self.channels))
        self.backbone_ = "mlp"
        feats = graph.dense_features().astype(np.float32)
        if graph.n_edges > 0 and self.propagation_hops > 0:
            need = (self.edge_views + 1) * feats.shape[0] * feats.shape[1] * (
                self.propagation_hops + 1) * 4
            if need > 8 * 2**30:
                raise MemoryError(
                    f"GCC's propagated views need {need / 2**30:.1f} GiB "
                    f"({self.edge_views + 1} copies x N {feats.shape[0]} x "
                    f"{self.propagation_hops + 1} x F {feats.shape[1]} float32); lower "
                    "edge_views or propagation_hops, or reduce the features first.")
            stack = propagated_features(feats, graph.adjacency, self.propagation_hops,
                                        self.edge_drop, self.edge_views + 1, rng)
            x = torch.as_tensor(stack, device=device)
            clean = x[0]
        else:
            x = clean = torch.as_tensor(feats, device=device)
        return x, clean, _feature_view(self.feature_mask), MLPEncoder(
            clean.shape[1], tuple(self.widths))

    # ------------------------------------------------------------ training
    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        x, clean, view, backbone = self._inputs(graph, device, rng)
        n = clean.shape[0]
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        model = nn.ModuleDict({
            "backbone": backbone.to(device),
            "head": ProjectionHead(backbone.out_dim, self.embedding_dim).to(device),
            # every head's K logits from one matmul: (B, n_heads * K)
            "cluster": nn.Linear(backbone.out_dim, self.n_heads * self.n_clusters).to(device),
        }).to(device)
        gcc = self.objective == "gcc"
        per_epoch = math.ceil(n / self.batch_size)
        self.n_epochs_ = max(int(self.n_epochs), math.ceil(self.min_steps / per_epoch))
        self.warmup_epochs_ = round(self.warmup_epochs * self.n_epochs_ / self.n_epochs)
        if self.n_epochs_ > self.n_epochs:
            log.info("GCC: %d epochs (%d warm-up) of %d batches to reach min_steps=%d",
                     self.n_epochs_, self.warmup_epochs_, per_epoch, self.min_steps)
        memory = torch.zeros(self.memory_epochs, n, self.embedding_dim, device=device)
        filled = torch.zeros(self.memory_epochs, dtype=torch.bool)
        state: dict[str, Any] = {"epoch": -1, "lists": None, "draw": None}
        joined = graph.adjacency if self.join_edges else None
        self.graph_seconds_: list[float] = []
        n_heads, k = self.n_heads, self.n_clusters
        head_loss = torch.zeros(n_heads, device=device)  # AGC + CR per head, last epoch

        def assign(h: torch.Tensor) -> torch.Tensor:  # (B, n_heads, K) softmax per head
            return torch.softmax(model["cluster"](h).view(-1, n_heads, k), -1)

        def encode(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = model["backbone"](batch)
            return h, model["head"](h)

        def new_epoch(epoch: int) -> None:
            state["epoch"] = epoch
            if gcc and epoch >= self.warmup_epochs_ and (
                    (epoch - self.warmup_epochs_) % self.graph_every == 0):
                t0 = time.perf_counter()
                mean = memory[filled].mean(0)
                state["lists"] = _knn_lists(mean, self.n_neighbors)
                indptr, indices, degrees = join_input_edges(state["lists"], joined)
                state["draw"] = (torch.as_tensor(indptr), torch.as_tensor(indices), degrees)
                self.graph_seconds_.append(time.perf_counter() - t0)
                log.info("GCC: A(t) rebuilt at epoch %d in %.2f s", epoch,
                         self.graph_seconds_[-1])

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            if epoch != state["epoch"]:
                new_epoch(epoch)
            h1, z1 = encode(view(x, idx, gen))
            _, z2 = encode(view(x, idx, gen))
            slot = epoch % self.memory_epochs
            memory[slot, idx] = z2.detach()
            filled[slot] = True
            b = idx.shape[0]
            if state["draw"] is None:  # [G]'s warm-up: a softmax over [z1; z2], self included
                weights = torch.cat([torch.zeros(b, b, device=device),
                                     torch.eye(b, device=device)], 1)
                loss = rgc_loss(z1, torch.cat([z1, z2]), weights, self.tau,
                                positives_in_denominator=True)
                return loss, {"instance": loss}
            indptr, indices, degrees = state["draw"]
            rows = idx.cpu()
            start, length = indptr[rows], indptr[rows + 1] - indptr[rows]
            pick = start + (torch.rand(b, generator=gen) * length).long().clamp_max(length - 1)
            nb = indices[pick].to(device)
            h3, z3 = encode(view(x, nb, gen))
            # candidates [z1; z2; z3] as [G]: the anchors' own block only in the denominator
            w = torch.zeros(b, 3 * b, device=device)
            ar = torch.arange(b, device=device)
            w[ar, b + ar] = 1.0
            w[ar, 2 * b + ar] = degrees[nb.cpu()].to(device).rsqrt()
            rgc = rgc_loss(z1, torch.cat([z1, z2, z3]), w, self.tau)
            q1, q3 = assign(h1), assign(h3)
            agcs = torch.stack([agc_loss(q1[:, i], q3[:, i], self.tau_agc) for i in range(n_heads)])
            crs = torch.stack([cluster_regularizer(q1[:, i]) for i in range(n_heads)])
            if epoch == self.n_epochs_ - 1:
                head_loss.add_(b * (self.agc_weight * agcs + self.cr_weight * crs).detach())
            agc, cr = agcs.mean(), crs.mean()
            loss = self.rgc_weight * rgc + self.agc_weight * agc + self.cr_weight * cr
            return loss, {"rgc": rgc, "agc": agc, "cr": cr}

        self.model_ = model  # set before training, so an epoch_callback can look at it
        self._train("gcc" if gcc else "instance", model, step, n_epochs=self.n_epochs_,
                    lr=self.lr, lr_schedule="cosine",
                    # a last batch of one sample is skipped: BatchNorm needs two, and the
                    # contrast a negative (it is a random sample, drawn again next epoch)
                    batches=lambda epoch: (b for b in minibatches(n, self.batch_size, gen, device)
                                           if b.shape[0] > 1))
        if gcc:
            self.neighbor_lists_ = state["lists"].numpy()
        model.eval()
        with torch.no_grad():
            h = torch.cat([model["backbone"](clean[s:s + 1024]) for s in range(0, n, 1024)])
            self.embedding_ = h.cpu().numpy()
            if gcc:
                self.head_losses_ = (head_loss / n).cpu().numpy()
                self.head_ = int(self.head_losses_.argmin())
                q = assign(h)[:, self.head_].cpu().numpy()
                self.responsibilities_ = q
                self.labels_ = q.argmax(1).astype(np.int64)
            else:
                km = KMeans(self.n_clusters, n_init=self.n_init,
                            random_state=int(rng.integers(2**31)))
                self.labels_ = km.fit_predict(self.embedding_).astype(np.int64)
        warn_if_collapsed("GCC", self.labels_, self.n_clusters)


@dataclass(repr=False, eq=False)
class SimCLR(GCC):
    """GCC's baseline: SimCLR-style instance contrast on the same backbone and views, then
    k-means of the representation (``GCC(objective="instance")``)."""

    objective: Literal["gcc", "instance"] = "instance"
