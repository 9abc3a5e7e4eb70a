"""GMIM: Gaussian Mixture Information Maximization (Ahmadi et al.; ../papers/gmim.txt).

Algorithm 1 of the paper:

1. S = PPR diffusion of the graph, alpha = 0.2 (eq. 5), replaces A in the encoder (eq. 3).
2. Pre-train the DGI encoder on L_MI (eq. 2): up to ``pretrain_epochs`` with early stopping
   (patience ``patience``), best-loss weights kept (authors' code: 1000 / 40).
3. k-means on H; the diagonal Gaussian mixture starts from its hard assignments.
4. For t = 1..T: ``em_steps`` EM steps with the encoder fixed (eq. 10-14), then
   ``grad_steps`` Adam steps on  omega * L_MI + beta_t * L_NLL  (eq. 8-9), with
   beta_t = tanh(c * t) ramping from 0 to 1 (authors' code; c = 0.0044 over 1000 epochs on
   PubMed, so the default c = 4.4 / T reaches the same ramp end for any T).
5. Labels: k-means on the final embedding (``assign="kmeans"``, the paper; one of its starts
   is the mixture's means, see ``_final_kmeans``), or the
   mixture's own MAP assignment (``assign="mixture"``); both are kept
   (``labels_``, ``mixture_labels_``) and ``predict_proba`` gives the responsibilities.

Paper vs authors' code: the paper's Cora setting is hidden 512, omega 25000 with the
*summed* NLL, 200 epochs; the code uses the *mean* NLL with omega 2000, which is our
default (see ``nll_reduction``); both are reachable by parameters. The paper's S is the dense PPR matrix
(``ppr_k=None``); our default keeps the 64 largest entries per node (GDC's top-k default)
and adds a rank-8 factorisation U V of the entries that cut drops (``ppr_rank``,
:func:`~graphclust.diffusion.ppr_lowrank_residual`): S X W is then 1.4% off the exact
product on Cora instead of 9% (plain cut) or 14% (rows rescaled to their exact mass,
``ppr_rank=0, ppr_keep_mass=True``). The product costs one sparse
and two thin dense matmuls, ~9x less than the dense S on Cora, and large graphs become possible
at all; docs/methods/gmim.md has the figures.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Literal

import numpy as np
import torch
from sklearn.cluster import KMeans

from graphclust.base import check_positive_float, check_positive_int
from graphclust.diffusion import DEFAULT_MAX_DENSE_GB
from graphclust.graph import Graph
from graphclust.methods.dgi import DGI, Diffusion
from graphclust.mixture import MixtureParams, e_step, init_from_labels, m_step, nll
from graphclust.nn.infomax import infomax_loss

__all__ = ["GMIM"]

log = logging.getLogger(__name__)


class GMIM(DGI):
    """Deep Graph Infomax on PPR diffusion, trained jointly with a diagonal Gaussian mixture.

    Parameters
    ----------
    n_clusters : int, default 7
    hidden : int, default 512
        Embedding width (paper: 512 Cora, 256 PubMed).
    lr : float, default 0.001
        Adam learning rate in both phases (paper).
    pretrain_epochs : int, default 1000
        Upper bound of the L_MI pre-training (authors' code).
    patience : int, default 40
        Early-stopping patience of the pre-training (authors' code).
    n_epochs : int, default 200
        Joint epochs T (paper: 200 Cora, 1000 PubMed). 0 stops after pre-training (the
        "MI + K-means / GMM" ablations).
    em_steps, grad_steps : int, default 1, 1
        T1 EM steps and T2 gradient steps per epoch (paper: 1 and 1).
    omega : float, default 2000
        Weight of L_MI (authors' code, with the mean NLL). The paper's Cora value is
        25000 with the summed NLL (``omega=25000, nll_reduction="sum"``).
    nll_reduction : {"sum", "mean"}, default "mean"
        eq. 8 sums over nodes; the authors' code uses the mean. The mean is the default
        because on Cora it matched the paper (seed 1: ACC 75.7 / NMI 60.6 / ARI 54.2) where
        the summed setting drifted (seed 0: 72.6 / 56.3 / 48.4: the NLL term overwhelms
        L_MI, which rises from 0.07 to 0.64 during joint training).
    beta_ramp : float or None, default None
        c in beta_t = tanh(c t); None means 4.4 / n_epochs.
    diffusion : {"ppr", "none"}, default "ppr"
    alpha : float, default 0.2
    ppr_k : int or None, default 64
        Entries of S kept per node; None = exact dense PPR (paper and authors' code; on
        Cora 0.3 ACC above the default, within its spread, ~5x slower, N^2 memory).
    ppr_eps : float, default 1e-4
    ppr_rank : int, default 8
        Rank of the correction U V for the entries the top-k cut drops, S = S_k + U V
        (see :class:`DGI`); 0 = none.
    ppr_keep_mass : bool, default False
        With ``ppr_rank=0``: rescale each node's kept entries to its exact PPR mass (see
        :class:`DGI`).
    reg_covar : float, default 1e-6
        Variance floor of the mixture.
    assign : {"kmeans", "mixture"}, default "kmeans"
        Which assignment becomes ``labels_``.
    n_init : int, default 10
        k-means restarts (initialisation and final assignment; the final one also tries a
        start at the fitted mixture's means).
    max_dense_gb, random_state, device, verbose : as in :class:`DGI`.

    Attributes
    ----------
    embedding_ : (N, hidden)   labels_ : (N,)   mixture_labels_ : (N,)
    weights_ (K,), means_ (K, hidden), variances_ (K, hidden) : the fitted mixture
    history_ : per-epoch loss terms ("pretrain/mi", "joint/mi", "joint/nll", "joint/beta")
    """

    def __init__(
        self,
        n_clusters: int = 7,
        *,
        hidden: int = 512,
        lr: float = 0.001,
        pretrain_epochs: int = 1000,
        patience: int = 40,
        n_epochs: int = 200,
        em_steps: int = 1,
        grad_steps: int = 1,
        omega: float = 2000.0,
        nll_reduction: Literal["sum", "mean"] = "mean",
        beta_ramp: float | None = None,
        diffusion: Diffusion = "ppr",
        alpha: float = 0.2,
        ppr_k: int | None = 64,
        ppr_eps: float = 1e-4,
        ppr_rank: int = 8,
        ppr_keep_mass: bool = False,
        reg_covar: float = 1e-6,
        assign: Literal["kmeans", "mixture"] = "kmeans",
        n_init: int = 10,
        max_dense_gb: float = DEFAULT_MAX_DENSE_GB,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.hidden = hidden
        self.lr = lr
        self.pretrain_epochs = pretrain_epochs
        self.patience = patience
        self.n_epochs = n_epochs
        self.em_steps = em_steps
        self.grad_steps = grad_steps
        self.omega = omega
        self.nll_reduction = nll_reduction
        self.beta_ramp = beta_ramp
        self.diffusion = diffusion
        self.alpha = alpha
        self.ppr_k = ppr_k
        self.ppr_eps = ppr_eps
        self.ppr_rank = ppr_rank
        self.ppr_keep_mass = ppr_keep_mass
        self.reg_covar = reg_covar
        self.assign = assign
        self.n_init = n_init
        self.max_dense_gb = max_dense_gb
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    #: EM iterations when fitting the mixture on the final embedding
    max_em_iter = 100

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_positive_int("pretrain_epochs", self.pretrain_epochs)
        check_positive_int("n_epochs", self.n_epochs, minimum=0)
        check_positive_int("em_steps", self.em_steps)
        check_positive_int("grad_steps", self.grad_steps)
        check_positive_float("omega", self.omega, allow_zero=True)
        check_positive_float("reg_covar", self.reg_covar)
        if self.beta_ramp is not None:
            check_positive_float("beta_ramp", self.beta_ramp)
        if self.nll_reduction not in ("sum", "mean"):
            raise ValueError(f"nll_reduction must be 'sum' or 'mean' but got {self.nll_reduction!r}.")
        if self.assign not in ("kmeans", "mixture"):
            raise ValueError(f"assign must be 'kmeans' or 'mixture' but got {self.assign!r}.")

    def _kmeans(self, h: np.ndarray, rng: np.random.Generator) -> KMeans:
        """k-means with ``n_init`` k-means++ starts, seeded from ``rng`` (fitted estimator)."""
        km = KMeans(self.n_clusters, n_init=self.n_init, random_state=int(rng.integers(2**31)))
        return km.fit(h)

    def _final_kmeans(self, h: np.ndarray, means: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Step 5, k-means on the final H: the ``n_init`` k-means++ starts plus one start at
        the fitted mixture's means (the joint phase pulled H towards them); the run with the
        lowest inertia wins, so the extra start can only lower the k-means objective.

        Why: on Cora a single k-means++ start reaches the best partition of a final embedding
        about one time in three, so 10 starts all miss it about once in a hundred fits
        (seed 9 of Table II did: inertia 4.61 against 4.34, ACC 66.8 against 75.0); the start
        at the mixture's means reached it there, for ~10 ms. No label is involved.
        """
        km = self._kmeans(h, rng)
        labels = km.labels_.astype(np.int64)
        if np.isfinite(means).all():
            seeded = KMeans(self.n_clusters, init=means.astype(h.dtype), n_init=1).fit(h)
            if seeded.inertia_ < km.inertia_:
                log.debug("final k-means: the start at the mixture means wins (inertia %.4g < %.4g)",
                          seeded.inertia_, km.inertia_)
                labels = seeded.labels_.astype(np.int64)
        return labels

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        x, s = self._prepare(graph, device)
        model = self._pretrain(x, s, device, rng, self.pretrain_epochs)  # step 2
        model.eval()
        with torch.no_grad():
            h = model.encoder(x, s)
        init_labels = torch.as_tensor(self._kmeans(h.cpu().numpy(), rng).labels_.astype(np.int64),
                                      device=device)
        # the joint loop runs the mixture in float32 like the encoder (twice as fast here as
        # float64; the quadratic form is expanded in matmuls, see mixture.log_gaussian)
        params = init_from_labels(h, init_labels, self.n_clusters, self.reg_covar)  # step 3

        opt = torch.optim.Adam(model.parameters(), lr=self.lr, fused=True)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        c = self.beta_ramp if self.beta_ramp is not None else 4.4 / max(self.n_epochs, 1)
        n = x.shape[0]
        model.train()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            for epoch in range(self.n_epochs):  # step 4
                beta = math.tanh(c * epoch)
                for step in range(self.grad_steps):
                    perm = torch.randperm(n, generator=gen).to(device)
                    opt.zero_grad()
                    pos, neg, h_grad = model(x, s, perm)
                    if step == 0:
                        # EM with the encoder fixed (eq. 10-14): the clean embedding of this
                        # forward pass is H at the current weights, so it serves both steps
                        h = h_grad.detach()
                        for _ in range(self.em_steps):
                            resp, _ = e_step(h, params)
                            params = m_step(h, resp, params, self.reg_covar)
                    l_mi = infomax_loss(pos, neg)
                    l_nll = nll(h_grad, params, self.nll_reduction)
                    loss = self.omega * l_mi + beta * l_nll
                    loss.backward()
                    opt.step()
                self._log_epoch("joint", epoch, self.n_epochs, mi=l_mi.item(), nll=l_nll.item(),
                                beta=beta)
        if caught:
            warnings.warn(
                f"{len(caught)} EM step(s) found empty mixture components: {caught[0].message}",
                RuntimeWarning,
                stacklevel=3,
            )

        model.eval()
        with torch.no_grad():
            h = model.encoder(x, s)
            hd = h.double()
            params = MixtureParams(*(p.double() for p in (params.weights, params.means,
                                                            params.variances)))
            # fit the mixture on the final embedding: EM to convergence (this is the whole
            # "MI + GMM" ablation when n_epochs = 0), then the responsibilities
            previous = -np.inf
            for _ in range(self.max_em_iter):
                resp, log_norm = e_step(hd, params)
                params = m_step(hd, resp, params, self.reg_covar)
                current = float(log_norm.mean())
                if abs(current - previous) < 1e-4:
                    break
                previous = current
            resp, _ = e_step(hd, params)
        self.model_ = model
        self.device_ = device
        self.embedding_ = h.cpu().numpy()
        self.weights_ = params.weights.cpu().numpy()
        self.means_ = params.means.cpu().numpy()
        self.variances_ = params.variances.cpu().numpy()
        self.responsibilities_ = resp.cpu().numpy()
        self.mixture_labels_ = self.responsibilities_.argmax(1).astype(np.int64)
        self.kmeans_labels_ = self._final_kmeans(self.embedding_, self.means_, rng)  # step 5
        self.labels_ = self.kmeans_labels_ if self.assign == "kmeans" else self.mixture_labels_

    def predict_proba(self, graph: Graph | None = None) -> np.ndarray:
        """Mixture responsibilities (N, K) of the training graph's nodes (transductive)."""
        self._check_fitted()
        return self.responsibilities_

    def mixture(self) -> MixtureParams:
        self._check_fitted()
        return MixtureParams(
            torch.as_tensor(self.weights_), torch.as_tensor(self.means_),
            torch.as_tensor(self.variances_),
        )
