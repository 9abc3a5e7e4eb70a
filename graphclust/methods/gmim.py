"""GMIM: Gaussian mixture information maximization (Ahmadi, Safayani, Mirzaei, "Deep Graph
Clustering via Mutual Information Maximization and Mixture Model", arXiv:2205.05168, 2022).

Algorithm 1 of the paper:

1. S = PPR diffusion of the graph, alpha = 0.2 (eq. 5), replaces A in the encoder (eq. 3).
2. Pre-train the DGI encoder on L_MI (eq. 2): up to ``pretrain_epochs`` with early stopping
   (patience ``patience``), best-loss weights kept (authors' code: 1000 / 40).
3. k-means on H; the diagonal Gaussian mixture starts from its hard assignments.
4. For t = 1..T: ``em_steps`` EM steps with the encoder fixed (eq. 10-14), then
   ``grad_steps`` Adam steps on  omega * L_MI + beta_t * L_NLL  (eq. 8-9), with
   beta_t = tanh(c * t) ramping from 0 to 1 (authors' code; c = 0.0044 over 1000 epochs on
   PubMed, so the default c = 4.4 / T reaches the same ramp end for any T).
5. The mixture is refitted by EM on the final embedding (up to ``em_max_iter`` steps, a
   ``ConvergenceWarning`` when they run out). Labels: k-means on the final embedding (``assign="kmeans"``, the paper; one of its starts
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning

from graphclust.base import check_choice, check_positive_float, check_positive_int
from graphclust.distributed import shard, world
from graphclust.graph import Graph
from graphclust.methods.dgi import DGI, Diffusion
from graphclust.mixture import (
    EmptyComponentWarning,
    MixtureParams,
    e_step,
    init_from_labels,
    m_step,
    nll,
)
from graphclust.nn.infomax import InfomaxModel, infomax_loss
from graphclust.nn.sparse import BatchPropagation, FixedMatrix

__all__ = ["GMIM"]

log = logging.getLogger(__name__)


@contextmanager
def _summarised_empty_components() -> Iterator[None]:
    """Collect the joint phase's :class:`EmptyComponentWarning` s into one warning at the
    end (one per EM step would flood the log); any other warning is issued again as is."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptyComponentWarning)
        yield
    empty = [w for w in caught if issubclass(w.category, EmptyComponentWarning)]
    for w in caught:
        if not issubclass(w.category, EmptyComponentWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if empty:
        warnings.warn(
            f"{len(empty)} EM step(s) of the joint phase found empty mixture components: "
            f"{empty[0].message}", EmptyComponentWarning, stacklevel=4,
        )


@dataclass(repr=False, eq=False)
class GMIM(DGI):
    """Deep Graph Infomax on PPR diffusion, trained jointly with a diagonal Gaussian mixture.

    GMIM is DGI (its pre-training, step 2) followed by the joint phase: the parameters it
    shares with :class:`DGI` (``hidden``, ``lr``, ``pretrain_epochs``, ``patience``,
    ``diffusion``, ``alpha``, ``ppr_k``, ``ppr_eps``, ``ppr_rank``, ``ppr_keep_mass``,
    ``n_init``, ``max_dense_gb``) mean what they mean there and are validated there; only
    the defaults below differ.

    Parameters
    ----------
    n_clusters : int, default 7
    hidden, lr : default 512, 0.001
        Paper: 512 on Cora (256 on PubMed); one learning rate for both phases.
    pretrain_epochs, patience : default 1000, 40
        Budget and early-stopping patience of the L_MI pre-training (authors' code).
    diffusion, alpha, ppr_k, ppr_eps, ppr_rank, ppr_keep_mass : default "ppr", 0.2, 64,
        1e-4, 8, False. ``ppr_k=None`` is the exact dense PPR of the paper and the
        authors' code (on Cora 0.3 ACC above the default, within its spread, ~5x slower,
        N^2 memory).
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
        because on Cora it matched the paper where the summed setting drifts (the NLL term
        overwhelms L_MI; docs/methods/gmim.md).
    beta_ramp : float or None, default None
        c in beta_t = tanh(c t); None means 4.4 / n_epochs.
    reg_covar : float, default 1e-6
        Variance floor of the mixture.
    em_max_iter, em_tol : int, float, default 100, 1e-4
        EM on the final embedding stops when the mean log-likelihood changes by less than
        ``em_tol``; a ``ConvergenceWarning`` says when ``em_max_iter`` steps ran out first.
    assign : {"kmeans", "mixture"}, default "kmeans"
        Which assignment becomes ``labels_``.
    n_init : int, default 10
        k-means restarts (initialisation and final assignment; the final one also tries a
        start at the fitted mixture's means).
    max_dense_gb, random_state, device, verbose : as in :class:`DGI`.

    Attributes
    ----------
    embedding_ : (N, hidden)   labels_ : (N,)   mixture_labels_ : (N,)   kmeans_labels_ : (N,)
    weights_ (K,), means_ (K, hidden), variances_ (K, hidden) : the fitted mixture
    responsibilities_ : (N, K)
    n_iter_per_phase_ : epochs run, {"pretrain": ..., "joint": n_epochs}
    em_n_iter_ : EM steps on the final embedding; em_converged_ : whether em_tol was met
    history_ : per-epoch loss terms ("pretrain/mi", "joint/mi", "joint/nll", "joint/beta")
    """

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(hidden=16, pretrain_epochs=30, patience=10, n_epochs=5, n_init=2)

    _per_node: ClassVar[tuple[str, ...]] = (
        "embedding_", "labels_", "responsibilities_", "mixture_labels_", "kmeans_labels_")

    _: KW_ONLY
    # DGI's parameters, with the defaults of GMIM's pre-training (authors' code)
    pretrain_epochs: int = 1000
    patience: int = 40
    diffusion: Diffusion = "ppr"
    # the joint phase
    n_epochs: int = 200
    em_steps: int = 1
    grad_steps: int = 1
    omega: float = 2000.0
    nll_reduction: Literal["sum", "mean"] = "mean"
    beta_ramp: float | None = None
    reg_covar: float = 1e-6
    em_max_iter: int = 100
    em_tol: float = 1e-4
    assign: Literal["kmeans", "mixture"] = "kmeans"

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_positive_int("n_epochs", self.n_epochs, minimum=0)
        for name in ("em_steps", "grad_steps", "em_max_iter"):
            check_positive_int(name, getattr(self, name))
        check_positive_float("omega", self.omega, allow_zero=True)
        check_positive_float("reg_covar", self.reg_covar)
        check_positive_float("em_tol", self.em_tol)
        if self.beta_ramp is not None:
            check_positive_float("beta_ramp", self.beta_ramp)
        check_choice("nll_reduction", self.nll_reduction, ("sum", "mean"))
        check_choice("assign", self.assign, ("kmeans", "mixture"))
        if self.batch_size is not None and self.batch_steps == "epoch" and self.grad_steps > 1:
            raise ValueError(
                f"grad_steps={self.grad_steps} with batch_size and batch_steps='epoch' (one "
                "step an epoch) is not supported; use grad_steps=1 or batch_steps='batch'.")

    def _final_kmeans(self, h: np.ndarray, means: np.ndarray, rng: np.random.Generator
                      ) -> KMeans | MiniBatchKMeans:
        """Step 5, k-means on the final H: the ``n_init`` k-means++ starts plus one start at
        the fitted mixture's means (the joint phase pulled H towards them); the run with the
        lowest inertia wins, so the extra start can only lower the k-means objective.

        Why: on Cora a single k-means++ start reaches the best partition of a final embedding
        about one time in three, so 10 starts all miss it about once in a hundred fits
        (seed 9 of Table II did: inertia 4.61 against 4.34, ACC 66.8 against 75.0); the start
        at the mixture's means reached it there, for ~10 ms. No label is involved.
        """
        km = self._kmeans(h, rng)
        if np.isfinite(means).all():
            seeded = self._kmeans_model(means.astype(h.dtype), 1, 0).fit(h)
            if seeded.inertia_ < km.inertia_:
                log.debug("final k-means: the start at the mixture means wins (inertia %.4g < %.4g)",
                          seeded.inertia_, km.inertia_)
                return seeded
        return km

    def _joint(self, model: InfomaxModel, x: FixedMatrix, s: FixedMatrix, params: MixtureParams,
               device: torch.device, rng: np.random.Generator) -> MixtureParams:
        """Step 4: per epoch ``em_steps`` EM steps with the encoder fixed (eq. 10-14), then
        ``grad_steps`` Adam steps on omega L_MI + beta_t L_NLL (eq. 8-9)."""
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        c = self.beta_ramp if self.beta_ramp is not None else 4.4 / max(self.n_epochs, 1)
        n = x.shape[0]
        state: dict[str, Any] = {"params": params, "gen": gen}  # checkpointed with the phase

        def step(epoch: int, grad_step: int) -> tuple[torch.Tensor, dict[str, float]]:
            beta = math.tanh(c * epoch)
            perm = torch.randperm(n, generator=gen).to(device)
            pos, neg, h = model(x, s, perm)
            if grad_step == 0:
                # EM with the encoder fixed: the clean embedding of this forward pass is H
                # at the current weights, so it serves both steps
                hd = h.detach()
                for _ in range(self.em_steps):
                    resp, _ = e_step(hd, state["params"])
                    state["params"] = m_step(hd, resp, state["params"], self.reg_covar)
            l_mi = infomax_loss(pos, neg)
            l_nll = nll(h, state["params"], self.nll_reduction)
            loss = self.omega * l_mi + beta * l_nll
            return loss, {"mi": l_mi.item(), "nll": l_nll.item(), "beta": beta}

        with _summarised_empty_components():
            self._train("joint", model, step, n_epochs=self.n_epochs, lr=self.lr,
                        batches=lambda epoch: range(self.grad_steps), state=state)
        model.eval()
        return state["params"]

    def _joint_rows(self, model: InfomaxModel, rows: BatchPropagation, params: MixtureParams,
                    device: torch.device, rng: np.random.Generator) -> MixtureParams:
        """Step 4 on node batches: per epoch ``em_steps`` EM steps on H of every node with
        the encoder fixed (each rank's E-step on its share of the nodes, the M-step's
        statistics summed over the ranks), then ``grad_steps`` passes over the node batches
        of omega L_MI + beta_t L_NLL, the NLL the batch mean (times N for
        ``nll_reduction="sum"``: the same expected gradient as the full sum)."""
        w = world()
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        c = self.beta_ramp if self.beta_ramp is not None else 4.4 / max(self.n_epochs, 1)
        n = rows.shape[0]
        mine = shard(np.arange(n), w)  # this rank's nodes for the EM statistics
        scale = float(n) if self.nll_reduction == "sum" else 1.0
        state: dict[str, Any] = {"params": params, "gen": gen}
        net = self._data_parallel(model, device)

        def batches(epoch: int) -> Iterator[np.ndarray]:
            h = self._embed_rows(model, rows, mine)
            for _ in range(self.em_steps):
                resp, _ = e_step(h, state["params"])
                state["params"] = m_step(h, resp, state["params"], self.reg_covar,
                                         reduce=w.all_reduce_ if w.size > 1 else None)
            rows.set_corruption(torch.randperm(n, generator=gen).numpy())
            return (b for _ in range(self.grad_steps) for b in self._node_batches(n, gen))

        def step(epoch: int, idx: np.ndarray, last: bool = True
                 ) -> tuple[torch.Tensor, dict[str, float]]:
            beta = math.tanh(c * epoch)
            pos, neg, h = net(rows, idx, not last)  # not last: defer W's gradient (see DGI)
            l_mi = infomax_loss(pos, neg)
            l_nll = scale * nll(h, state["params"], "mean")
            return self.omega * l_mi + beta * l_nll, {"mi": l_mi.item(), "nll": l_nll.item(),
                                                      "beta": beta}

        with _summarised_empty_components():
            self._train("joint", net, step, n_epochs=self.n_epochs, lr=self._batch_lr(n),
                        batches=batches, state=state, reduce_loss=w.mean,
                        accumulate=self.batch_steps == "epoch")
        model.eval()
        return state["params"]

    def _final_em(self, h: torch.Tensor, params: MixtureParams) -> tuple[MixtureParams, torch.Tensor]:
        """EM to convergence on the final embedding (the whole "MI + GMM" ablation when
        n_epochs = 0), in float64; returns the mixture and the responsibilities."""
        hd = h.double()
        params = MixtureParams(*(p.double() for p in (params.weights, params.means,
                                                        params.variances)))
        previous = -np.inf
        self.em_converged_ = False
        for it in range(1, self.em_max_iter + 1):
            resp, log_norm = e_step(hd, params)
            params = m_step(hd, resp, params, self.reg_covar)
            current = float(log_norm.mean())
            self.em_n_iter_ = it
            if abs(current - previous) < self.em_tol:
                self.em_converged_ = True
                break
            previous = current
        if not self.em_converged_:
            warnings.warn(
                f"GMIM: EM on the final embedding did not converge in em_max_iter="
                f"{self.em_max_iter} steps (mean log-likelihood still moving by more than "
                f"em_tol={self.em_tol:g}); raise em_max_iter.", ConvergenceWarning, stacklevel=3,
            )
        resp, _ = e_step(hd, params)
        return params, resp

    def _init_mixture(self, h: torch.Tensor, rng: np.random.Generator) -> MixtureParams:
        """Step 3: k-means on H, the mixture from its hard assignments (rank 0's labels
        under several ranks, so that every rank starts from the same mixture)."""
        labels = torch.as_tensor(self._kmeans(h.cpu().numpy(), rng).labels_.astype(np.int64))
        if world().size > 1:
            torch.distributed.broadcast(labels, src=0)
        # the joint loop runs the mixture in float32 like the encoder (twice as fast here
        # as float64; the quadratic form is expanded in matmuls, see mixture.log_gaussian)
        return init_from_labels(h, labels.to(h.device), self.n_clusters, self.reg_covar)

    def _fit_ordered(self, graph: Graph, device: torch.device, rng: np.random.Generator
                     ) -> None:
        if self.batch_size is not None:
            with self._timed("diffusion"):
                rows = self._prepare_rows(graph, device, rng)  # step 1
            model = self._pretrain_rows(rows, device, rng)  # step 2
            with self._timed("init"):
                params = self._init_mixture(self._embed_rows(model, rows), rng)  # step 3
            params = self._joint_rows(model, rows, params, device, rng)  # step 4
            with self._timed("cluster"):
                self._final(model, self._embed_rows(model, rows), params, device, rng)
            return
        with self._timed("diffusion"):
            x, s = self._prepare(graph, device, rng)  # step 1
        model = self._pretrain(x, s, device, rng)  # step 2
        with self._timed("init"), torch.no_grad():
            params = self._init_mixture(model.embed(x, s), rng)  # step 3
        params = self._joint(model, x, s, params, device, rng)  # step 4
        with self._timed("cluster"), torch.no_grad():
            self._final(model, model.embed(x, s), params, device, rng)

    def _final(self, model: InfomaxModel, h: torch.Tensor, params: MixtureParams,
               device: torch.device, rng: np.random.Generator) -> None:
        """The final EM and step 5 on the final embedding ``h``."""
        params, resp = self._final_em(h, params)
        self.model_ = model
        self.device_ = device
        self.embedding_ = h.cpu().numpy()
        self.weights_ = params.weights.cpu().numpy()
        self.means_ = params.means.cpu().numpy()
        self.variances_ = params.variances.cpu().numpy()
        self.responsibilities_ = resp.cpu().numpy()
        self.mixture_labels_ = self.responsibilities_.argmax(1).astype(np.int64)
        km = self._final_kmeans(self.embedding_, self.means_, rng)  # step 5
        self.kmeans_labels_ = km.labels_.astype(np.int64)
        self.cluster_centers_ = km.cluster_centers_
        self.labels_ = self.kmeans_labels_ if self.assign == "kmeans" else self.mixture_labels_

    def predict_proba(self, graph: Graph | None = None) -> np.ndarray:
        """Mixture responsibilities (N, K): the training graph's for ``None``, else those of
        the fitted encoder's embedding of ``graph`` under the fitted mixture."""
        self._check_fitted()
        if graph is None:
            return self.responsibilities_
        h = self._embed_new(graph).double()
        resp, _ = e_step(h, MixtureParams(*(torch.as_tensor(a, device=h.device) for a in (
            self.weights_, self.means_, self.variances_))))
        return resp.cpu().numpy()

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """``labels_`` for ``None``; else the nearest final k-means centre
        (``assign="kmeans"``) or the most responsible component (``"mixture"``)."""
        if graph is not None and self.assign == "mixture":
            return self.predict_proba(graph).argmax(1).astype(np.int64)
        return super().predict(graph)

    def mixture(self) -> MixtureParams:
        self._check_fitted()
        return MixtureParams(
            torch.as_tensor(self.weights_), torch.as_tensor(self.means_),
            torch.as_tensor(self.variances_),
        )
