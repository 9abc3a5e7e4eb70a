"""DGG: Deep Clustering by Gaussian Mixture Variational Autoencoders with Graph Embedding
(Yang, Cheung, Li, Fang, ICCV 2019, https://openaccess.thecvf.com/content_ICCV_2019/html/
Yang_Deep_Clustering_by_Gaussian_Mixture_Variational_Autoencoders_With_Graph_Embedding_ICCV_2019_paper.html).

VaDE's Gaussian-mixture VAE (:mod:`graphclust.methods.vade`) with a graph over the samples:
sample i's evidence bound is averaged with its bound under its neighbours' posteriors,

    max  sum_i 1/2 [ L(x_i) + sum_j w_ij L(x_i, x_j) ],   sum_j w_ij = 1      (eq. 19)

where L(x_i, x_j) is x_i's ELBO with q(z, c | x_j) in place of q(z, c | x_i) (eqs. 12-16,
25-26): encode the neighbour, reconstruct the anchor. The cluster posterior is a classifier
network q(c|z) = f2(z) (eqs. 5-7) and the mixture weights are per sample, their Lagrange
solution pi_i = 1/2 gamma_i + 1/2 sum_j w_ij gamma_j (eqs. 30-31, derived in the notes),
recomputed each step from f2(mu) and held fixed in the step, as the authors' code does.

Steps of :meth:`DGG.fit`:

1. The autoencoder is pre-trained (VaDE's step 1, label-free).
2. Neighbours: ``n_neighbors`` drawn at random from the ``n_candidates`` nearest in the
   ``neighbor_space`` (default a Siamese network, as the paper: an encoder copy trained
   ``siamese_epochs`` epochs with :func:`~graphclust.nn.contrastive.siamese_hinge_loss`,
   positives each point's ``siamese_positives`` input-space nearest neighbours, negatives
   random pairs), fixed for the run; weights w_ij by the Gaussian kernel of eq. 32 or
   uniform (the authors' code). The start: the spectral clustering of that graph (ours), N2D's
   UMAP + GMM of the codes (ours, optional extra umap-learn), or
   a GMM on the codes (VaDE's; the paper's K-means on the latents) gives pseudo-labels; the
   prior is fitted to the codes grouped by them and the classifier trained
   ``classifier_epochs`` epochs on them (the paper: f2 trained on the K-means labels).
3. ``n_epochs`` of mini-batch Adam on the negative objective, the learning rate times
   ``lr_gamma`` every ``lr_step`` epochs.
4. Labels: argmax f2(mu(x)) at the last epoch.

**Cost.** The naive form encodes and decodes every anchor's 1 + N_s rows per step. Write the
objective as sum_{i,j} v_ij L(x_i, x_j) with v_ii = 1/2, v_ij = w_ij / 2 (V = I without
neighbours). Every term of L(x_i, x_j) depends on the input j alone except two:

* the reconstruction log p(x_i | z_j) is linear in the target x_i for a Bernoulli decoder
  (x_i . l_j - sum_d softplus(l_jd)) and quadratic for a Gaussian one, so
  sum_i v_ij log p(x_i | z_j) = c_j log p(xbar_j | z_j) (+ a constant for the Gaussian),
  with c_j = sum_i v_ij and xbar_j = sum_i v_ij x_i / c_j fixed for the run
  (:func:`pair_targets`): one product V^T X before training;
* sum_k gamma_jk sum_i v_ij log pi_ik = gamma_j . P_j with P = V^T log Pi, an (N, K)
  sparse product of N (1 + N_s) K multiply-adds per step.

So a step encodes and decodes each sample of its batch once, like VaDE, and an epoch costs
a VaDE epoch plus the classifier and two sparse products (the floor of the method; measured
in ``benchmarks/dgg_cost.py``). What changes: each j draws one z for all the anchors that
list it (still an unbiased estimate of the same objective), and the batches are of samples j
rather than of anchors with their neighbour rows.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from graphclust.base import (
    check_choice,
    check_positive_float,
    check_positive_int,
    minibatches,
)
from graphclust.graph import Graph
from graphclust.methods.ae_cluster import has_umap, require_umap, umap_gmm_labels
from graphclust.methods.vade import VaDE
from graphclust.neighbors import knn_indices
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.contrastive import siamese_hinge_loss
from graphclust.nn.sparse import to_torch
from graphclust.nn.vae import (
    Classifier,
    GaussianEncoder,
    MixturePrior,
    mixture_elbo,
    mixture_log_responsibilities,
    reparameterize,
)

__all__ = ["DGG", "sample_neighbors", "affinity_weights", "pair_matrix", "pair_targets",
           "spectral_labels", "mixture_from_labels"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- the maths
def sample_neighbors(candidates: torch.Tensor, n_neighbors: int, generator: torch.Generator
                     ) -> torch.Tensor:
    """``n_neighbors`` of each row's candidates (N, C), drawn without replacement: (N, S)."""
    order = torch.rand(candidates.shape, generator=generator).argsort(dim=1)[:, :n_neighbors]
    return candidates.gather(1, order)


def affinity_weights(sq_dist: torch.Tensor, kind: Literal["gaussian", "uniform"]) -> torch.Tensor:
    """Row-normalised weights w_ij (N, S) from the squared distances (N, S) to the neighbours.

    "gaussian" is eq. 32, exp(-d_ij^2 / (2 s_i^2)) / a_i, with s_i^2 (the paper's
    "predefined scalar") the mean squared distance of row i, so the kernel adapts to the
    local density; "uniform" is 1 / S (the authors' code).
    """
    if sq_dist.shape[1] == 0:
        return sq_dist
    if kind == "uniform":
        return torch.full_like(sq_dist, 1.0 / sq_dist.shape[1])
    scale = 2.0 * sq_dist.mean(1, keepdim=True).clamp_min(1e-12)
    logits = -sq_dist / scale
    return torch.softmax(logits, dim=1)


def pair_matrix(n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """V (N, N): v_ii = 1/2 and v_ij = w_ij / 2 for the pairs given (each row's weights sum
    to 1), v_ii = 1 for a sample without neighbours; every row of V sums to 1."""
    has = np.zeros(n, dtype=bool)
    has[rows] = True
    diag = np.where(has, 0.5, 1.0)
    v = sp.csr_matrix((0.5 * weights, (rows, cols)), shape=(n, n)) + sp.diags(diag)
    return sp.csr_matrix(v, dtype=np.float32)


def pair_targets(v: sp.csr_matrix, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c (N,), xbar (N, D), gaussian constant (N,)) of the pair sum, for the inputs j.

    c_j = sum_i v_ij, xbar_j = sum_i v_ij x_i / c_j, and the constant that makes
    c_j log N(xbar_j | g, I) + const_j = sum_i v_ij log N(x_i | g, I):
    const_j = -1/2 (sum_i v_ij ||x_i||^2 - c_j ||xbar_j||^2) (0 when only j targets j).
    """
    vt = sp.csr_matrix(v.T)
    c = np.asarray(vt.sum(1)).ravel()
    # every j lists itself, so c_j >= 1/2
    xbar = np.asarray(vt @ x) / c[:, None]
    sq = np.einsum("ij,ij->i", x, x)
    const = -0.5 * (vt @ sq - c * np.einsum("ij,ij->i", xbar, xbar))
    return c.astype(np.float32), xbar.astype(np.float32), const.astype(np.float32)


def spectral_labels(n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray,
                    n_clusters: int, seed: int) -> np.ndarray:
    """Spectral clustering (scikit-learn, Ng-Jordan-Weiss) of the symmetrised neighbour
    graph (N,): the start that reads the graph DGG builds, where a GMM on the codes does not."""
    from graphclust.methods.baselines import spectral_clustering

    a = sp.csr_matrix((weights.astype(np.float64), (rows, cols)), shape=(n, n))
    return spectral_clustering(a + a.T, n_clusters, n_init=10, seed=seed)[0]


def mixture_from_labels(codes: np.ndarray, labels: np.ndarray, n_clusters: int,
                        min_var: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (K,), means (K, M), variances (K, M)) of the codes grouped by ``labels``:
    the fractions, the means and the unbiased variances (the paper's start from K-means
    centres); an empty cluster gets the overall mean and variance and a weight of 1/N."""
    n, m = codes.shape
    weights = np.zeros(n_clusters)
    means = np.tile(codes.mean(0), (n_clusters, 1))
    variances = np.tile(codes.var(0) + min_var, (n_clusters, 1))
    for k in range(n_clusters):
        members = codes[labels == k]
        weights[k] = max(len(members), 1) / n
        if len(members):
            means[k] = members.mean(0)
        if len(members) > 1:
            variances[k] = members.var(0, ddof=1) + min_var
    return weights / weights.sum(), means, variances


# ---------------------------------------------------------------------- the estimator
@dataclass(repr=False, eq=False)
class DGG(VaDE):
    """Gaussian-mixture VAE clustering with graph embedding (the features' own graph by
    default: a Siamese k-NN graph; the input graph's edges with ``neighbor_space="graph"``).

    Parameters (besides :class:`~graphclust.methods.vade.VaDE`'s)
    ----------
    n_neighbors : int, default 20
        N_s, neighbours per sample (paper: 20 of the 100 nearest). 0 drops the graph term.
    n_candidates : int, default 100
        The nearest points the neighbours are drawn from.
    neighbor_space : {"siamese", "code", "input", "graph"}, default "siamese"
        Where the nearest are found: a trained Siamese embedding (paper), the pre-trained
        autoencoder's codes, the input features, or the input graph's edges (all of a
        node's neighbours; ``n_candidates`` unused).
    metric : {"euclidean", "cosine"}, default "euclidean"
        Distance of the neighbour search (and of the Siamese positives).
    affinity : {"gaussian", "uniform"}, default "gaussian"
        w_ij: eq. 32's kernel on the neighbour space's distances, or 1 / N_s.
    siamese_epochs, siamese_positives, siamese_margin : default 30, 2, 3.0
        The Siamese encoder (a copy of the pre-trained encoder, Adam at ``pretrain_lr``,
        batches of ``batch_size``): epochs (the authors run 300 on 70k images),
        input-space neighbours per point taken as positives, hinge margin on d^2.
    classifier_hidden : tuple of int, default ()
        Hidden widths of f2 (empty: one linear layer latent -> K, as the authors' MNIST).
    classifier_epochs, classifier_lr : default 30, 0.01
        Epochs and Adam learning rate of f2 on the GMM labels before the joint phase (the
        fraction of samples where f2 agrees with them is ``classifier_agreement_``).
    assignment : {"classifier", "posterior"}, default "classifier"
        q(c|x): the classifier f2 (DGG) or VaDE's closed-form p(c|z).
    mixture_weights : {"per_sample", "global"}, default "per_sample"
        pi_i of eqs. 30-31 (DGG) or one learned pi (VaDE). With ``n_neighbors=0``,
        ``assignment="posterior"`` and ``mixture_weights="global"`` the objective, and the
        fit, are VaDE's exactly.
    start : {"auto", "umap", "spectral", "gmm"}, default "auto"
        The prior's and the classifier's start ("auto": "umap" where umap-learn is
        installed, else "spectral"; the one used is ``start_``): the spectral clustering of the neighbour
        graph (:func:`spectral_labels`; ours, not the paper's: MNIST-test seed 0 starts at
        79.6 ACC this way, at 66.3 from the GMM), a GMM on the pre-trained codes (VaDE's
        start, the paper's K-means on the latents), or N2D's UMAP + GMM of the codes
        (:func:`~graphclust.methods.ae_cluster.umap_gmm_labels`, ``umap_neighbors``
        neighbours; needs the optional extra umap-learn). Without neighbours "auto" and
        "spectral" are the GMM.

    Attributes (besides VaDE's)
    ----------
    start_ : the start used (see ``start``); pretrain_labels_ its pseudo-labels;
    neighbor_graph_ : sparse (N, N), the weights w_ij; ``weights_`` is the mean of pi_i
    in the per-sample mode; classifier_agreement_ (see ``classifier_epochs``); ``history_`` adds "siamese/loss" and "classifier/loss".
    """

    n_clusters: int = 10
    _: KW_ONLY
    n_neighbors: int = 20
    n_candidates: int = 100
    neighbor_space: Literal["siamese", "code", "input", "graph"] = "siamese"
    metric: Literal["euclidean", "cosine"] = "euclidean"
    affinity: Literal["gaussian", "uniform"] = "gaussian"
    siamese_epochs: int = 30
    siamese_positives: int = 2
    siamese_margin: float = 3.0
    classifier_hidden: Sequence[int] = ()
    classifier_epochs: int = 30
    classifier_lr: float = 0.01
    assignment: Literal["classifier", "posterior"] = "classifier"
    mixture_weights: Literal["per_sample", "global"] = "per_sample"
    start: Literal["auto", "gmm", "spectral", "umap"] = "auto"
    umap_neighbors: int = 20

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(super().get_test_params(), n_neighbors=3, n_candidates=5, siamese_epochs=2,
                    classifier_epochs=2)

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_choice("neighbor_space", self.neighbor_space, ("siamese", "code", "input", "graph"))
        check_choice("metric", self.metric, ("euclidean", "cosine"))
        check_choice("affinity", self.affinity, ("gaussian", "uniform"))
        check_choice("assignment", self.assignment, ("classifier", "posterior"))
        check_choice("mixture_weights", self.mixture_weights, ("per_sample", "global"))
        check_choice("start", self.start, ("auto", "gmm", "spectral", "umap"))
        check_positive_int("umap_neighbors", self.umap_neighbors, minimum=2)
        if self.start == "umap":
            require_umap("start='umap'", "start='spectral'")
        check_positive_int("n_neighbors", self.n_neighbors, minimum=0)
        for name in ("n_candidates", "siamese_positives"):
            check_positive_int(name, getattr(self, name))
        for name in ("siamese_epochs", "classifier_epochs"):
            check_positive_int(name, getattr(self, name), minimum=0)
        check_positive_float("siamese_margin", self.siamese_margin)
        check_positive_float("classifier_lr", self.classifier_lr)
        if any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1
               for w in self.classifier_hidden):
            raise ValueError(f"classifier_hidden must list positive ints (or be empty) but got "
                             f"{self.classifier_hidden!r}.")
        n = graph.n_nodes
        if self.neighbor_space != "graph" and self.n_neighbors > 0:
            if self.n_neighbors > self.n_candidates:
                raise ValueError(f"n_neighbors ({self.n_neighbors}) are drawn from the "
                                 f"n_candidates nearest ({self.n_candidates}): lower n_neighbors "
                                 "or raise n_candidates.")
            if self.n_candidates >= n:
                raise ValueError(f"n_candidates must be below the number of samples ({n}) but "
                                 f"got {self.n_candidates}; lower it.")
            if self.neighbor_space == "siamese" and self.siamese_positives >= n:
                raise ValueError(f"siamese_positives must be below the number of samples ({n}) "
                                 f"but got {self.siamese_positives}.")
        if self.neighbor_space == "graph" and self.n_neighbors > 0 and graph.n_edges == 0:
            raise ValueError(f"neighbor_space='graph' needs edges, but graph {graph.name!r} has "
                             "none; use neighbor_space='siamese' (a k-NN graph of the features).")

    # ------------------------------------------------------------------ neighbours
    def _siamese_embedding(self, ae: Autoencoder, x: torch.Tensor, gen: torch.Generator
                           ) -> torch.Tensor:
        """Codes of a Siamese copy of the pre-trained encoder (paper's appendix, notes)."""
        siamese = copy.deepcopy(ae)
        positives = knn_indices(x.cpu().numpy(), self.siamese_positives, metric=self.metric)[0]
        positives = positives.to(x.device)
        margin = float(self.siamese_margin)

        def embed(rows: torch.Tensor) -> torch.Tensor:
            h = siamese.encode(rows)[-1]
            return nn.functional.normalize(h, dim=1) if self.metric == "cosine" else h

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            pick = torch.randint(positives.shape[1], (idx.numel(),), generator=gen).to(x.device)
            anchor = embed(x.index_select(0, idx))
            positive = embed(x.index_select(0, positives[idx, pick]))
            negative = anchor[torch.randperm(idx.numel(), generator=gen).to(x.device)]
            loss = siamese_hinge_loss((anchor - positive).square().sum(1),
                                      (anchor - negative).square().sum(1), margin)
            return loss, {"loss": loss}

        self._train("siamese", siamese, step, n_epochs=self.siamese_epochs, lr=self.pretrain_lr,
                    batches=lambda epoch: minibatches(x.shape[0], self.batch_size, gen, x.device),
                    parameters=siamese.encoder.parameters())
        with torch.no_grad():
            return embed(x)

    def _neighbor_pairs(self, graph: Graph, x: torch.Tensor, ae: Autoencoder,
                        gen: torch.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, w) of the neighbour weights w_ij, each row summing to 1."""
        n = x.shape[0]
        if self.n_neighbors == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.float32)
        if self.neighbor_space == "graph":
            return self._graph_pairs(graph, x)
        if self.neighbor_space == "siamese":
            space = self._siamese_embedding(ae, x, gen)
        elif self.neighbor_space == "code":
            with torch.no_grad():
                space = ae.encode(x)[-1]
        else:
            space = x
        space = space.cpu()
        candidates, _ = knn_indices(space.numpy(), self.n_candidates, metric=self.metric)
        picked = sample_neighbors(candidates, self.n_neighbors, gen)  # (N, S)
        if self.metric == "cosine":
            unit = nn.functional.normalize(space, dim=1)
            sq = 2.0 - 2.0 * (unit.unsqueeze(1) * unit[picked]).sum(2)
        else:
            sq = (space.unsqueeze(1) - space[picked]).square().sum(2)
        w = affinity_weights(sq.clamp_min(0.0), self.affinity)
        rows = np.repeat(np.arange(n), self.n_neighbors)
        return rows, picked.numpy().ravel(), w.numpy().ravel().astype(np.float32)

    def _graph_pairs(self, graph: Graph, x: torch.Tensor
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All of a node's graph neighbours, weighted by the edge weight times eq. 32's kernel
        on the input features (or uniformly), normalised per row."""
        n = x.shape[0]
        adj = sp.csr_matrix(graph.adjacency, dtype=np.float32)
        adj.setdiag(0)
        adj.eliminate_zeros()
        rows = np.repeat(np.arange(n), np.diff(adj.indptr))
        cols = adj.indices.astype(np.int64)
        w = np.asarray(adj.data, dtype=np.float64)
        if self.affinity == "gaussian":
            chunks = [(x[torch.as_tensor(rows[s:s + 65536])]
                       - x[torch.as_tensor(cols[s:s + 65536])]).square().sum(1).cpu().numpy()
                      for s in range(0, rows.size, 65536)]
            sq = np.concatenate(chunks).astype(np.float64)
            row_mean = np.bincount(rows, sq, minlength=n) / np.maximum(
                np.bincount(rows, minlength=n), 1)
            w = w * np.exp(-sq / np.maximum(2.0 * row_mean[rows], 1e-12))
        sums = np.bincount(rows, w, minlength=n)
        return rows, cols, (w / sums[rows]).astype(np.float32)

    # ------------------------------------------------------------------ start
    def _start(self, graph: Graph, x: torch.Tensor, ae: Autoencoder, codes: np.ndarray,
               prior: MixturePrior, gen: torch.Generator, rng: np.random.Generator) -> None:
        """Step 2: the neighbours, then the prior's start: VaDE's GMM on the codes, or the
        spectral clustering of the neighbour graph, or N2D's UMAP + GMM of the codes, with
        the prior fitted to the codes of each of its clusters (weights, means, unbiased
        variances)."""
        self._pairs = self._neighbor_pairs(graph, x, ae, gen)
        self.start_ = self._resolve_start()
        if self.start_ == "gmm":
            super()._start(graph, x, ae, codes, prior, gen, rng)
            return
        seed = int(rng.integers(2**31))
        if self.start_ == "umap":
            labels = umap_gmm_labels(codes, self.n_clusters, n_neighbors=self.umap_neighbors,
                                     seed=seed)[0]
        else:
            labels = spectral_labels(x.shape[0], *self._pairs, self.n_clusters, seed)
        self.pretrain_labels_ = labels
        prior.initialise(*(torch.as_tensor(a, dtype=torch.float32, device=x.device)
                           for a in mixture_from_labels(codes, labels, self.n_clusters,
                                                        self.min_var)))

    def _resolve_start(self) -> str:
        if self.n_neighbors == 0 and self.start in ("auto", "spectral"):
            return "gmm"  # no graph to cut; "umap" needs none and stays
        if self.start != "auto":
            return str(self.start)
        if not has_umap():
            log.info("DGG: start='auto' is 'spectral' (umap-learn is not installed; "
                     "pip install umap-learn for the UMAP start)")
            return "spectral"
        return "umap"

    # ------------------------------------------------------------------ joint phase
    def _joint(self, graph: Graph, x: torch.Tensor, model: nn.ModuleDict, gen: torch.Generator,
               rng: np.random.Generator) -> None:
        encoder: GaussianEncoder = model["encoder"]  # type: ignore[assignment]
        prior: MixturePrior = model["prior"]  # type: ignore[assignment]
        device, n = x.device, x.shape[0]
        rows, cols, w = self._pairs  # from step 2; scratch, not learned state
        del self._pairs
        self.neighbor_graph_ = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
        plain = self.n_neighbors == 0
        if self.assignment == "classifier":
            model["classifier"] = Classifier(
                int(self.widths[-1]), self.n_clusters, tuple(self.classifier_hidden)).to(device)
            self._pretrain_classifier(model, x, gen)
        v = pair_matrix(n, rows, cols, w)
        if plain:
            target, c, const = x, None, None
        else:
            c_np, xbar, const_np = pair_targets(v, x.cpu().numpy())
            target = torch.as_tensor(xbar, device=device)
            c = torch.as_tensor(c_np, device=device)
            const = (torch.as_tensor(const_np / c_np, device=device)
                     if self.likelihood_ == "gaussian" else None)
        per_sample = self.mixture_weights == "per_sample"
        v_t = to_torch(v, device)
        vt_t = to_torch(sp.csr_matrix(v.T), device)
        gamma_table = self._gamma_table(model, x) if per_sample else None

        def log_gamma_of(z: torch.Tensor) -> torch.Tensor:
            if self.assignment == "classifier":
                return model["classifier"](z)
            return mixture_log_responsibilities(z, prior.params())

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            xj = x.index_select(0, idx)
            mu, logvar = encoder(xj)
            z = reparameterize(mu, logvar, gen)
            recon = self._log_likelihood(target.index_select(0, idx), encoder.decode(z))
            if const is not None:
                recon = recon + const.index_select(0, idx)
            recon = self.recon_weight * recon
            params = prior.params()
            log_gamma = log_gamma_of(z)
            weight = None if c is None else c.index_select(0, idx)
            if per_sample:
                assert gamma_table is not None
                with torch.no_grad():  # eqs. 30-31: pi = V gamma, then P = V^T log pi
                    log_pi = torch.log((v_t @ gamma_table).clamp_min(1e-12))
                    p_j = (vt_t @ log_pi).index_select(0, idx)
                    gamma_table[idx] = self._gamma(model, mu.detach())
            elif weight is None:
                p_j = prior.log_weights()
            else:
                p_j = weight[:, None] * prior.log_weights()
            elbo = mixture_elbo(recon, mu, logvar, log_gamma, params, p_j, weight)
            return -elbo.mean(), {"elbo": elbo.mean(), "recon": recon.mean()}

        self._train("joint", model, step, n_epochs=self.n_epochs, lr=self.lr,  # step 3
                    batches=lambda epoch: minibatches(n, self.batch_size, gen, device),
                    lr_schedule="step", lr_step=self.lr_step, lr_gamma=self.lr_gamma)
        if per_sample:
            self._pi_matrix = v_t  # weights_ = mean pi_i, after the fit

    def _pretrain_classifier(self, model: nn.ModuleDict, x: torch.Tensor,
                             gen: torch.Generator) -> None:
        """f2 by cross-entropy on the GMM labels of the pre-trained codes (step 1)."""
        if self.classifier_epochs == 0:
            return
        with torch.no_grad():
            codes, _ = model["encoder"](x)
        labels = torch.as_tensor(self.pretrain_labels_, device=x.device)
        classifier = model["classifier"]

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            loss = nn.functional.nll_loss(classifier(codes.index_select(0, idx)),
                                          labels.index_select(0, idx))
            return loss, {"loss": loss}

        self._train("classifier", classifier, step, n_epochs=self.classifier_epochs,
                    lr=self.classifier_lr,
                    batches=lambda epoch: minibatches(x.shape[0], self.batch_size, gen, x.device))
        with torch.no_grad():
            agree = (classifier(codes).argmax(1) == labels).float().mean()
        self.classifier_agreement_ = float(agree)
        log.info("DGG: the classifier agrees with the GMM start on %.1f%% of the samples",
                 100 * self.classifier_agreement_)

    def _gamma(self, model: nn.ModuleDict, mu: torch.Tensor) -> torch.Tensor:
        """q(c | z = mu) (N, K) without gradient."""
        with torch.no_grad():
            if self.assignment == "classifier":
                return model["classifier"](mu).exp()
            prior: MixturePrior = model["prior"]  # type: ignore[assignment]
            return mixture_log_responsibilities(mu, prior.params()).exp()

    def _gamma_table(self, model: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            mu = torch.cat([model["encoder"](x[s:s + 4096])[0] for s in range(0, x.shape[0], 4096)])
        return self._gamma(model, mu)

    def _responsibilities(self, mu: torch.Tensor) -> torch.Tensor:
        return self._gamma(self.model_, mu)

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        super()._fit(graph, device, rng)
        if self.mixture_weights == "per_sample":
            gamma = torch.as_tensor(self.responsibilities_, device=device)
            self.weights_ = (self._pi_matrix @ gamma).mean(0).cpu().numpy()
            del self._pi_matrix
