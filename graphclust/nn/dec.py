"""DEC-style self-training pieces (Xie et al., 2016), shared by AGCN and its relatives.

* :func:`student_t_assignment`: soft assignment of embeddings to centres with a Student's t
  kernel (agcn.txt eq. 10), q_ij proportional to (1 + ||h_i - mu_j||^2 / nu)^(-(nu+1)/2).
* :func:`target_distribution`: the sharpened target p_ij = (q_ij^2 / f_j) / sum_j' (...)
  with cluster frequencies f_j = sum_i q_ij (eq. 11).
* :func:`kl_clustering_loss`: KL(P || Q) averaged over nodes ("batchmean", as the authors'
  code uses ``F.kl_div(q.log(), p, reduction="batchmean")``).
"""

from __future__ import annotations

import torch

__all__ = ["student_t_assignment", "target_distribution", "kl_clustering_loss"]


def student_t_assignment(z: torch.Tensor, centers: torch.Tensor, nu: float = 1.0) -> torch.Tensor:
    """(N, D), (K, D) -> (N, K) rows summing to 1 (eq. 10, degrees of freedom ``nu``)."""
    if nu <= 0:
        raise ValueError(f"nu (degrees of freedom) must be > 0 but got {nu!r}.")
    dist2 = torch.cdist(z, centers).pow(2)  # (N, K), no (N, K, D) tensor
    q = (1.0 + dist2 / nu).pow(-(nu + 1.0) / 2.0)
    return q / q.sum(1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """P from Q (eq. 11): square, divide by cluster frequency, renormalise rows."""
    weight = q.pow(2) / q.sum(0, keepdim=True)
    return weight / weight.sum(1, keepdim=True)


def kl_clustering_loss(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """KL(P || Q) = sum_ij p_ij log(p_ij / q_ij), divided by N (P is treated as constant)."""
    p = p.detach()
    terms = torch.xlogy(p, p) - p * torch.log(q.clamp_min(eps))
    return terms.sum() / q.shape[0]
