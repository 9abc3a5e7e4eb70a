"""AGCN: Attention-driven Graph Clustering Network (Peng, Liu, Jin, Wang, Lian, Pan,
"Attention-driven Graph Clustering Network", ACM Multimedia 2021,
https://arxiv.org/abs/2108.05499).

An autoencoder (AE, eq. 1) and a GCN of the same widths run side by side:

* **AGCN-H** (eq. 2-4), per layer i: attention weights
  ``M_i = l2(softmax(LeakyReLU([Z_i || H_i] W^a_i)))`` (N, 2) mix the GCN feature Z_i and the
  AE feature H_i, ``Z'_i = m_i1 * Z_i + m_i2 * H_i``, and the next GCN layer is
  ``Z_{i+1} = LeakyReLU(A_hat Z'_i W_i)`` (slope 0.2). Off (``fusion_h=False``): SDCN's
  fixed ``0.5 Z_i + 0.5 H_i``.
* **AGCN-S** (eq. 5-7): the multi-scale features ``[Z_1 || ... || Z_l || H_l]`` are weighted
  by ``U = l2(softmax(LeakyReLU([...] W^s)))`` (N, l+1) (``scale_fusion="attention"``) or
  by ones (``"equal"``, the "AGCN-S[S]" ablation) and concatenated.
* Prediction (eq. 8): ``Z = softmax(A_hat Z' W)``; labels ``argmax Z`` (eq. 9).

Self-training (eq. 10-13, Algorithm 1): after AE pre-training (30 epochs, lr 1e-3, batch
256), k-means (20 restarts) on the AE embedding initialises the centres mu (a learnable
parameter, as in DEC/SDCN); each of ``n_epochs`` full-batch epochs computes
Q (Student's t on H_l), the target P from Q, and minimises
``L_R + lambda_q KL(P || Q) + lambda_z KL(P || Z)``.

Paper vs authors' code (MM21---AGCN/AGCN.py), where they differ:

* eq. 12 puts lambda1 on KL(P, Z) and lambda2 on KL(P, H); the code's
  ``ld1 * kl_loss + ld2 * ce_loss`` puts the first value on KL(P, Q) and the second on
  KL(P, Z). We name them unambiguously (``lambda_q``, ``lambda_z``); the benchmark configs
  follow the code (graph datasets: lambda_q = 0.1, lambda_z = 0.01).
* eq. 4 normalises D^-1/2 (A+I) D^-1/2 (``adj_norm="sym"``, our default); the code
  row-normalises D^-1 (A+I) (``adj_norm="row"``).
* L_R is the *mean* squared error (``F.mse_loss``) and the KL terms are averaged over
  nodes ("batchmean"), as in the code; log Z is ``log_softmax`` (the code takes
  ``log`` of the softmax, which is -inf where Z underflows).
* the code's attention MLPs use LeakyReLU's default slope 0.01; the paper says 0.2, which
  we use (``attention_slope``).

The code computes P with one forward pass and the loss with a second one at the same
weights; we use one forward pass for both (identical values, half the work). The
concatenations of eq. 2, 5 and 7 are never formed: a linear map of ``[B_1 || ... || B_k]``
is the sum of each block times its slice of the weight (:func:`concat_linear`), and eq. 8's
product of the weighted concatenation is ``sum_j u_j (F_j W_j)``; each GCN layer runs its
sparse product on the narrower side of its weight (:class:`~graphclust.nn.gcn.GCNLayer`).
Same maths, other floating-point order: on ACM this took a bfloat16 iteration from 0.42 to
0.29 s. The first layers read sparse features through
:class:`~graphclust.nn.sparse.FixedMatrix`, and the adjacency stays sparse, so memory is
linear in edges.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans
from torch import nn

from graphclust.base import check_bool, check_choice, check_positive_float, check_positive_int
from graphclust.diffusion import gcn_norm, row_norm
from graphclust.graph import Graph
from graphclust.methods._autoencoder import AutoencoderMethod
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.dec import kl_clustering_loss, student_t_log_assignment, target_distribution
from graphclust.nn.gcn import GCNLayer
from graphclust.nn.sparse import FixedMatrix, bf16_autocast, to_torch

__all__ = ["AGCN", "AGCNNetwork", "concat_linear", "dec_stop_epoch", "softmax_l2"]

log = logging.getLogger(__name__)


def softmax_l2(logits: torch.Tensor, slope: float = 0.2) -> torch.Tensor:
    """The paper's 'softmax-l2' normalisation of attention logits: l2(softmax(LeakyReLU(.)))."""
    w = torch.softmax(nn.functional.leaky_relu(logits, slope), dim=1)
    return nn.functional.normalize(w, p=2.0, dim=1)


class AGCNNetwork(nn.Module):
    """The AE + fused GCN network of AGCN; ``forward`` returns (X_hat, H list, Z logits)."""

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int],
        n_clusters: int,
        *,
        fusion_h: bool,
        scale_fusion: str,
        attention_slope: float,
    ) -> None:
        super().__init__()
        self.ae = Autoencoder(in_features, widths)
        dims = [in_features, *widths]
        # eq. 4: Z_(i+1) = LeakyReLU(A_hat Z'_i W_i), slope 0.2, no bias
        self.gcn = nn.ModuleList(
            GCNLayer(a, b, bias=False, activation="leaky_relu", negative_slope=0.2)
            for a, b in zip(dims[:-1], dims[1:])
        )
        # AGCN-H: one (2 d_i -> 2) attention layer per fused layer (all but the last)
        self.fuse = nn.ModuleList(nn.Linear(2 * w, 2) for w in widths[:-1])
        total = sum(widths) + widths[-1]  # [Z_1 || ... || Z_l || H_l]
        self.scale = nn.Linear(total, len(widths) + 1)
        self.predict = nn.Parameter(nn.init.xavier_uniform_(torch.empty(total, n_clusters)))
        self.centers = nn.Parameter(torch.zeros(n_clusters, widths[-1]))
        self.fusion_h = fusion_h
        self.scale_fusion = scale_fusion
        self.slope = attention_slope

    def forward(
        self, x: FixedMatrix, a: FixedMatrix
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        x_hat, hs = self.ae(x)
        # eq. 4 with Z_0 = X: the first GCN layer reads the (possibly sparse) features
        z = self.gcn[0](a, x)
        zs = [z]
        for i in range(1, len(self.gcn)):
            h = hs[i - 1]
            if self.fusion_h:  # eq. 2-3
                fuse = self.fuse[i - 1]
                assert isinstance(fuse, nn.Linear)
                m = softmax_l2(concat_linear(fuse, [z, h]), self.slope)
                mixed = m[:, :1] * z + m[:, 1:] * h
            else:  # SDCN's fixed mixing
                mixed = 0.5 * z + 0.5 * h
            z = self.gcn[i](a, mixed)  # every layer, as in the code
            zs.append(z)
        feats = [*zs, hs[-1]]  # eq. 5
        # eq. 8 on the fused features [u_1 Z_1 || ... || u_(l+1) H_l] (eq. 7):
        # sum_j u_j (F_j W_j) over the row blocks W_j of W
        bounds = np.cumsum([0, *(f.shape[1] for f in feats)])
        parts = [f @ self.predict[lo:hi] for f, lo, hi in zip(feats, bounds[:-1], bounds[1:])]
        if self.scale_fusion == "attention":  # eq. 6-7
            u = softmax_l2(concat_linear(self.scale, feats), self.slope)
            parts = [u[:, j:j + 1] * part for j, part in enumerate(parts)]
        logits = a @ torch.stack(parts).sum(0)  # eq. 8 before the softmax
        return x_hat, hs, logits


def dec_stop_epoch(label_history: np.ndarray, tol: float, every: int = 1) -> int | None:
    """The epoch at which DEC's rule (``stop_tol``) ends a joint phase whose labels before
    each epoch's update are ``label_history`` (E, N): the first e >= ``every`` with fewer
    than ``tol`` of the nodes changed between rows e - every and e; None if it never fires.
    A fit with ``stop_tol=tol`` stops after epoch e and ends with the labels of row e + 1,
    so a history kept once (``keep_label_history``) replays every tol exactly."""
    for e in range(every, len(label_history)):
        if float(np.mean(label_history[e] != label_history[e - every])) < tol:
            return e
    return None


def concat_linear(layer: nn.Linear, blocks: Sequence[torch.Tensor]) -> torch.Tensor:
    """``layer(torch.cat(blocks, dim=1))`` without the concatenation: the sum of each block
    times its column slice of the weight (eq. 2 and 6; the same maths, no (N, sum of widths)
    copy, nor its gradient's)."""
    out: torch.Tensor = layer.bias
    start = 0
    for b in blocks:
        out = out + b @ layer.weight[:, start:start + b.shape[1]].T
        start += b.shape[1]
    return out


@dataclass(repr=False, eq=False)
class AGCN(AutoencoderMethod):
    """Attention-driven graph clustering network (Peng et al., ACM MM 2021); see the module docstring.

    Parameters
    ----------
    n_clusters : int, default 3
    widths : tuple of int, default (500, 500, 2000, 10)
        AE and GCN widths (paper: d-500-500-2000-10).
    lr : float, default 0.001
        Adam learning rate of the joint phase (paper: 1e-3; 1e-4 for CiteSeer and Reuters).
    pretrain_epochs, pretrain_lr, batch_size : int, float, int, default 30, 0.001, 256
        AE pre-training (paper).
    n_epochs : int, default 200
        Full-batch self-training epochs (the paper's 200 iterations).
    lambda_q, lambda_z : float, default 0.1, 0.01
        Weights of KL(P || Q) and KL(P || Z) (code's graph-dataset values; USPS 1000, 1000).
    fusion_h : bool, default True
        AGCN-H on (eq. 2-4) or SDCN's fixed 0.5/0.5 mixing.
    scale_fusion : {"attention", "equal"}, default "attention"
        AGCN-S[A] (eq. 6-7) or AGCN-S[S] (all weights 1).
    adj_norm : {"sym", "row"}, default "sym"
        D^-1/2 (A+I) D^-1/2 (paper) or D^-1 (A+I) (authors' code).
    nu : float, default 1.0
        Student's t degrees of freedom (eq. 10).
    attention_slope : float, default 0.2
    n_init : int, default 20
        k-means restarts for the centres (code).
    mixed_precision : bool, default False
        Run the dense weight products (the d-500-500-2000-10 AE and GCN, where nearly all
        the arithmetic is) in bfloat16 under ``torch.autocast``; weights, optimiser state,
        the sparse products, Q, P and the losses stay float32. Not in the paper: an
        engineering switch for GPUs and CPUs with native bfloat16 (AVX512-BF16, AMX), where
        it is faster (ACM on 2 Zen 5 cores: 55 s against 141 s per run); slower than
        float32 on AVX2-only CPUs. Its effect on quality is measured in
        docs/methods/agcn.md, not assumed.
    stop_tol : float or None, default None
        The DEC family's label-free stopping rule (DEC, IDEC): end the joint phase once
        fewer than this fraction of the nodes changed their label (argmax Z) over the last
        ``stop_every`` target updates (one per epoch here). None runs all ``n_epochs``.
    stop_every : int, default 1
        Epochs between the two labelings the rule compares.
    keep_label_history : bool, default False
        Keep argmax Z of every iteration in ``label_history_`` (n_epochs + 1, N) so a
        benchmark can show the authors' best-iteration protocol next to the final
        iteration, and argmax Q (the AE embedding's own assignment, eq. 10) in
        ``q_label_history_``, to show how the AE branch moves during the joint phase.
    random_state, device, verbose : see :class:`~graphclust.base.BaseGraphClusterer`.

    Attributes
    ----------
    labels_ : (N,) argmax of Z after the last iteration (eq. 9)
    pretrain_labels_ : (N,) k-means labels on the pre-trained AE embedding, the joint
        phase's starting point (the paper's "AE" baseline of Table 3)
    soft_assignment_ : (N, K) Z     q_ : (N, K) Q     embedding_ : (N, widths[-1]) H_l
    history_ : per-epoch "pretrain/recon", "joint/recon", "joint/kl_q", "joint/kl_z"
    n_iter_per_phase_ : {"pretrain": pretrain_epochs, "joint": n_epochs}
    label_history_, q_label_history_ : (epochs run + 1, N) argmax Z and argmax Q before each
        update and after the last (only with ``keep_label_history=True``)
    """

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(widths=(16, 16, 32, 4), pretrain_epochs=5, n_epochs=5, batch_size=64, n_init=2)

    n_clusters: int = 3
    _: KW_ONLY
    lr: float = 0.001
    n_epochs: int = 200
    lambda_q: float = 0.1
    lambda_z: float = 0.01
    fusion_h: bool = True
    scale_fusion: Literal["attention", "equal"] = "attention"
    adj_norm: Literal["sym", "row"] = "sym"
    nu: float = 1.0
    attention_slope: float = 0.2
    n_init: int = 20
    mixed_precision: bool = False
    stop_tol: float | None = None
    stop_every: int = 1
    keep_label_history: bool = False

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_positive_int("n_init", self.n_init)
        check_positive_int("n_epochs", self.n_epochs, minimum=0)
        for name in ("lr", "nu"):
            check_positive_float(name, getattr(self, name))
        for name in ("lambda_q", "lambda_z", "attention_slope"):
            check_positive_float(name, getattr(self, name), allow_zero=True)
        check_choice("scale_fusion", self.scale_fusion, ("attention", "equal"))
        for name in ("fusion_h", "mixed_precision", "keep_label_history"):
            check_bool(name, getattr(self, name))
        check_choice("adj_norm", self.adj_norm, ("sym", "row"))
        check_positive_int("stop_every", self.stop_every)
        if self.stop_tol is not None and (isinstance(self.stop_tol, bool) or not isinstance(
                self.stop_tol, (int, float)) or not 0 <= self.stop_tol < 1):
            raise ValueError(f"stop_tol is a fraction of the nodes in [0, 1), or None to run "
                             f"all n_epochs, but got {self.stop_tol!r}.")

    def _inputs(self, graph: Graph, device: torch.device) -> tuple[FixedMatrix, FixedMatrix, torch.Tensor]:
        """(A_hat, X as the first layers read it, dense X as the reconstruction target)."""
        norm = gcn_norm if self.adj_norm == "sym" else row_norm
        a = FixedMatrix(to_torch(norm(graph.adjacency), device))
        feats = graph.features
        x_dense = torch.as_tensor(graph.dense_features(), device=device)
        # sparse first layers when the features are (binary bag-of-words: ACM 4.5% dense);
        # otherwise the dense reconstruction target serves as the input too
        density = float(torch.count_nonzero(x_dense)) / max(1, x_dense.numel())
        x = FixedMatrix(to_torch(sp.csr_matrix(feats), device) if density < 0.3 else x_dense)
        return a, x, x_dense

    def _forward(self, net: AGCNNetwork, x: FixedMatrix, a: FixedMatrix, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(X_hat, H_l, Z logits) in float32, whatever precision the network ran in."""
        with bf16_autocast(device, bool(self.mixed_precision)):
            x_hat, hs, logits = net(x, a)
        return x_hat.float(), hs[-1].float(), logits.float()

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        a, x, x_dense = self._inputs(graph, device)
        amp = bool(self.mixed_precision)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        net = AGCNNetwork(
            graph.n_features, [int(w) for w in self.widths], self.n_clusters,
            fusion_h=bool(self.fusion_h), scale_fusion=self.scale_fusion,
            attention_slope=float(self.attention_slope),
        ).to(device)
        self._pretrain_autoencoder(net.ae, x_dense, nn.functional.mse_loss, gen,
                                   mixed_precision=amp)
        net.ae.eval()
        with torch.no_grad(), bf16_autocast(device, amp):
            h = net.ae.encode(x)[-1].float()
        km = KMeans(self.n_clusters, n_init=self.n_init, random_state=int(rng.integers(2**31)))
        km.fit(h.cpu().numpy())
        net.centers.data = torch.as_tensor(km.cluster_centers_, dtype=torch.float32, device=device)
        self.pretrain_labels_ = km.labels_.astype(np.int64)  # the state the joint phase starts from

        history: list[torch.Tensor] = []
        q_history: list[torch.Tensor] = []
        seen: list[torch.Tensor] = []  # argmax Z of the last stop_every + 1 epochs (stop_tol)

        def joint_step(epoch: int, batch: None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            x_hat, h, logits = self._forward(net, x, a, device)
            log_q = student_t_log_assignment(h, net.centers, self.nu)  # eq. 10
            p = target_distribution(log_q.detach().exp())  # eq. 11, from this epoch's Q
            log_z = torch.log_softmax(logits, dim=1)
            if self.stop_tol is not None:
                seen.append(logits.detach().argmax(1))
                del seen[:-(self.stop_every + 1)]
            if self.keep_label_history:
                history.append(logits.detach().argmax(1).to(torch.int32).cpu())
                q_history.append(log_q.detach().argmax(1).to(torch.int32).cpu())
            recon = nn.functional.mse_loss(x_hat, x_dense)
            kl_q = kl_clustering_loss(p, log_q)
            kl_z = kl_clustering_loss(p, log_z)
            loss = recon + self.lambda_q * kl_q + self.lambda_z * kl_z  # eq. 12-13
            return loss, {"recon": recon, "kl_q": kl_q, "kl_z": kl_z}

        def converged(epoch: int) -> bool:
            """DEC's rule on the labels of this epoch's target update and stop_every before."""
            if len(seen) <= self.stop_every:
                return False
            changed = float((seen[-1] != seen[0]).float().mean())
            if changed < float(self.stop_tol):  # type: ignore[arg-type]
                log.info("AGCN: %.4f of the labels changed over %d epochs (< stop_tol %g): "
                         "stopping at epoch %d", changed, self.stop_every, self.stop_tol,
                         epoch + 1)
                return True
            return False

        self._train("joint", net, joint_step, n_epochs=self.n_epochs, lr=self.lr,
                    stop=converged if self.stop_tol is not None else None)
        net.eval()
        with torch.no_grad():
            _, h, logits = self._forward(net, x, a, device)
            z = torch.softmax(logits, dim=1)
            q = student_t_log_assignment(h, net.centers, self.nu).exp()
        self.model_ = net
        self.device_ = device
        self.soft_assignment_ = z.cpu().numpy()
        self.q_ = q.cpu().numpy()
        self.embedding_ = h.cpu().numpy()
        self.labels_ = self.soft_assignment_.argmax(1).astype(np.int64)  # eq. 9
        if self.keep_label_history:
            history.append(torch.as_tensor(self.labels_, dtype=torch.int32))
            q_history.append(torch.as_tensor(self.q_.argmax(1), dtype=torch.int32))
            self.label_history_ = torch.stack(history).numpy()
            self.q_label_history_ = torch.stack(q_history).numpy()

    def predict_proba(self, graph: Graph | None = None) -> np.ndarray:
        """Z (N, K): the training graph's for ``None``, else the fitted network's on
        ``graph`` (its own normalised adjacency, same feature columns)."""
        self._check_fitted()
        if graph is None:
            return self.soft_assignment_
        self._check_same_features(graph)
        a, x, _ = self._inputs(graph, self.device_)
        with torch.no_grad():
            _, _, logits = self._forward(self.model_, x, a, self.device_)
        return torch.softmax(logits, dim=1).cpu().numpy()

    def transform(self, graph: Graph | None = None) -> np.ndarray:
        """H_l (N, widths[-1]): the training graph's for ``None``, else the fitted AE's on
        ``graph``."""
        self._check_fitted()
        if graph is None:
            return self.embedding_
        self._check_same_features(graph)
        _, x, _ = self._inputs(graph, self.device_)
        with torch.no_grad(), bf16_autocast(self.device_, bool(self.mixed_precision)):
            return self.model_.ae.encode(x)[-1].float().cpu().numpy()

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """argmax Z (``labels_`` for ``None``)."""
        if graph is None:
            self._check_fitted()
            return self.labels_
        return self.predict_proba(graph).argmax(1).astype(np.int64)
