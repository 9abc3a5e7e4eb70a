"""Contrastive losses on pairs of embeddings, as pure functions.

* :func:`siamese_hinge_loss`: the Siamese metric of DGG's neighbour search (Yang, Cheung,
  Li, Fang, "Deep Clustering by Gaussian Mixture Variational Autoencoders with Graph
  Embedding", ICCV 2019, appendix; the authors' ``Siamesev0.py``), after Hadsell, Chopra,
  LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006, on the
  squared distance: positive pairs are pulled together by d^2, negative pairs pushed out to
  the margin by max(0, margin - d^2).
"""

from __future__ import annotations

import torch

__all__ = ["siamese_hinge_loss"]


def siamese_hinge_loss(d2_positive: torch.Tensor, d2_negative: torch.Tensor,
                       margin: float = 3.0) -> torch.Tensor:
    """Mean over all pairs of ``d^2`` (positives, (P,)) and ``max(0, margin - d^2)``
    (negatives, (Q,)): a scalar, 0 when positives coincide and negatives are ``margin`` apart."""
    hinge = torch.relu(margin - d2_negative)
    return (d2_positive.sum() + hinge.sum()) / (d2_positive.numel() + d2_negative.numel())
