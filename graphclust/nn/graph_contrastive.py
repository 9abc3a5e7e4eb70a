"""The losses of Graph Contrastive Clustering, as pure functions on a batch.

Zhong, Wu, Chen, Huang, Deng, Nie, Lin, Hua, "Graph Contrastive Clustering", ICCV 2021
(https://arxiv.org/abs/2104.01429). The text we have is a summary article
(``shared/papers/gcc.txt``, [S]); where it and the authors' code ([G], read for facts only,
see ``gcc-notes.md``) differ, the code's form is taken and the docstring says so.

* :func:`rgc_loss`, representation graph contrast ([S] L_RGC): each anchor's positives are
  weighted by the normalised graph (-L_ij = A_ij / sqrt(d_i d_j)), its negatives are the
  candidates it has no edge to;
* :func:`agc_loss`, assignment graph contrast ([S] L_AGC): cluster k's column of the batch's
  assignments against the same column of the assignments of augmented neighbours;
* :func:`cluster_regularizer`, [S] L_CR = log K - H(Z): zero when the batch's mass is spread
  evenly over the clusters, log K when it sits in one.

[G] weighs them 2 RGC + AGC + 2 CR (lambda = 0.5, eta = 1 in [S]'s L_RGC + lambda L_AGC +
eta L_CR), with tau = 0.1 for RGC and tau = 1 for AGC.
"""

from __future__ import annotations

import math

import torch

__all__ = ["agc_loss", "cluster_regularizer", "rgc_loss"]


def rgc_loss(anchors: torch.Tensor, candidates: torch.Tensor, weights: torch.Tensor,
             tau: float = 0.1, *, positives_in_denominator: bool = False) -> torch.Tensor:
    """[S]'s L_RGC on a batch: -1/B sum_i log( sum_{j: w_ij > 0} w_ij e^{s_ij / tau} /
    sum_{j: w_ij = 0} e^{s_ij / tau} ), s_ij = anchors_i . candidates_j.

    ``anchors`` (B, d) and ``candidates`` (M, d) are L2-normalised embeddings (in [G], the
    candidates are the anchors themselves, their second views and their graph neighbours'
    views); ``weights`` (B, M) >= 0 is -L_ij on the positives and 0 elsewhere. Every anchor
    needs one positive and one negative. As [G], negatives come from the batch only (no
    queue) and the denominator holds every zero-weight candidate, the anchor's similarity with
    itself included when the candidates hold it. ``positives_in_denominator=True`` sums every
    candidate in the denominator instead, positives too: a plain softmax (InfoNCE), [G]'s
    form in the warm-up. Unlike [G], which also scales the neighbour's feature by its weight
    inside the dot product, the weight multiplies only the exponential, as [S] writes it.
    Computed with log-sum-exp: (,) scalar.
    """
    if anchors.shape[0] != weights.shape[0] or candidates.shape[0] != weights.shape[1]:
        raise ValueError(f"weights must be (anchors, candidates) = ({anchors.shape[0]}, "
                         f"{candidates.shape[0]}) but is {tuple(weights.shape)}.")
    logits = anchors @ candidates.T / tau                                   # (B, M)
    positive = weights > 0
    pos = torch.logsumexp(torch.where(positive, logits + torch.log(weights.clamp_min(1e-30)),
                                      -math.inf), dim=1)
    if positives_in_denominator:
        neg = torch.logsumexp(logits, dim=1)
    else:
        neg = torch.logsumexp(torch.where(positive, -math.inf, logits), dim=1)
    return (neg - pos).mean()


def agc_loss(q: torch.Tensor, q_neighbor: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """[S]'s L_AGC with the numerator [S] mistypes as q'_i . q'_i read as [G] codes it:
    -1/K sum_k log( e^{s(q_k, q~_k) / tau} / sum_j e^{s(q_k, q~_j) / tau} ), s the cosine of
    the columns (clusters) of the batch assignments ``q`` (B, K) and of its augmented
    neighbours' ``q_neighbor`` (B, K); one direction, as [G]. Scalar."""
    if q.shape != q_neighbor.shape:
        raise ValueError(f"q and q_neighbor must have one shape but are {tuple(q.shape)} and "
                         f"{tuple(q_neighbor.shape)}.")
    a = torch.nn.functional.normalize(q, dim=0)
    b = torch.nn.functional.normalize(q_neighbor, dim=0)
    logits = a.T @ b / tau                                                  # (K, K)
    return torch.nn.functional.cross_entropy(
        logits, torch.arange(q.shape[1], device=q.device))


def cluster_regularizer(q: torch.Tensor) -> torch.Tensor:
    """[S]'s L_CR = log K - H(Z), Z_k = sum_i q_ik / sum_ik q_ik, for assignments q (B, K):
    0 for an even spread, log K for one cluster. Scalar."""
    z = q.sum(0) / q.sum()
    entropy = -(z * torch.log(z.clamp_min(1e-30))).sum()
    return math.log(q.shape[1]) - entropy
