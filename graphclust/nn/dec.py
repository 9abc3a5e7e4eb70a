"""DEC-style self-training pieces (Xie, Girshick, Farhadi, "Unsupervised Deep Embedding for
Clustering Analysis", ICML 2016), shared by AGCN and its relatives.

* :func:`student_t_log_assignment` / :func:`student_t_assignment`: soft assignment of
  embeddings to centres with a Student's t kernel (AGCN eq. 10),
  q_ij proportional to (1 + ||h_i - mu_j||^2 / nu)^(-(nu+1)/2), in log space.
* :func:`target_distribution`: the sharpened target p_ij = (q_ij^2 / f_j) / sum_j' (...)
  with cluster frequencies f_j = sum_i q_ij (eq. 11).
* :func:`kl_clustering_loss`: KL(P || Q) from log Q, averaged over nodes ("batchmean", as
  the authors' code's ``F.kl_div(q.log(), p, reduction="batchmean")``); taking log Q
  directly (``log_softmax`` for a softmax head) keeps it exact where Q underflows.
"""

from __future__ import annotations

import torch

__all__ = ["student_t_log_assignment", "student_t_assignment", "target_distribution",
           "kl_clustering_loss"]


def student_t_log_assignment(z: torch.Tensor, centers: torch.Tensor, nu: float = 1.0) -> torch.Tensor:
    """log Q: (N, D), (K, D) -> (N, K), each row's exp summing to 1 (eq. 10)."""
    if nu <= 0:
        raise ValueError(f"nu (degrees of freedom) must be > 0 but got {nu!r}.")
    dist2 = torch.cdist(z, centers).pow(2)  # (N, K), no (N, K, D) tensor
    logits = -(nu + 1.0) / 2.0 * torch.log1p(dist2 / nu)
    return torch.log_softmax(logits, dim=1)


def student_t_assignment(z: torch.Tensor, centers: torch.Tensor, nu: float = 1.0) -> torch.Tensor:
    """Q = exp(:func:`student_t_log_assignment`), (N, K)."""
    return student_t_log_assignment(z, centers, nu).exp()


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """P from Q (eq. 11): square, divide by cluster frequency, renormalise rows."""
    weight = q.pow(2) / q.sum(0, keepdim=True)
    return weight / weight.sum(1, keepdim=True)


def kl_clustering_loss(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(P || Q) = sum_ij p_ij (log p_ij - log q_ij), divided by N (P is a constant)."""
    p = p.detach()
    terms = torch.xlogy(p, p) - p * log_q
    return terms.sum() / log_q.shape[0]
