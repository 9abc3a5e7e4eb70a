"""Deep Graph Infomax pieces (Velickovic, Fedus, Hamilton, Lio, Bengio, Hjelm, "Deep Graph
Infomax", ICLR 2019): the one-layer GCN encoder, the readout, the bilinear discriminator
and the BCE objective, shared by DGI and GMIM.

Why not ``torch_geometric.nn.DeepGraphInfomax`` with ``GCNConv``: that encodes the clean
and the corrupted graph separately through a dense feature matrix and a message-passing
scatter. Here the layer is ``H = PReLU(S (X W) + b)`` (DGI eq. 8 / GMIM eq. 3) with ``S`` a
fixed sparse (or dense) propagation matrix and ``X`` kept sparse; because the corruption
only shuffles rows of ``X``, ``X[perm] W = (X W)[perm]``, so ``X W`` is computed once per
step for both graphs (:class:`~graphclust.nn.gcn.GCNLayer` ``project``/``propagate``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from graphclust.nn.gcn import GCNLayer
from graphclust.nn.sparse import BatchPropagation, FixedMatrix

__all__ = ["InfomaxModel", "BatchForward", "infomax_loss"]


class InfomaxModel(nn.Module):
    """Encoder + sigmoid(mean) readout + bilinear discriminator D(h, s) = sigma(h^T W s)."""

    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.encoder = GCNLayer(in_features, hidden, activation="prelu")
        self.disc = nn.Bilinear(hidden, hidden, 1)
        nn.init.xavier_uniform_(self.disc.weight)
        nn.init.zeros_(self.disc.bias)

    def embed(self, x: FixedMatrix, s: FixedMatrix) -> torch.Tensor:
        """H = PReLU(S X W + b), (N, hidden)."""
        return self.encoder.propagate(s, self.encoder.project(x))

    def forward(
        self, x: FixedMatrix, s: FixedMatrix, perm: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (positive logits (N,), negative logits (N,), embedding H (N, hidden))."""
        xw = self.encoder.project(x)  # (N, hidden)
        # corruption C shuffles the rows of X, so (X[perm]) W = (X W)[perm]: one projection
        # serves the clean and the corrupted graph
        h = self.encoder.propagate(s, xw)
        h_neg = self.encoder.propagate(s, xw.index_select(0, perm))
        summary = torch.sigmoid(h.mean(0))  # readout R (dgi eq. 9)
        ws = self.disc.weight[0] @ summary  # (hidden,): W s computed once
        b = self.disc.bias[0]
        return h @ ws + b, h_neg @ ws + b, h

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        bias = self.encoder.bias
        return self.encoder.act(z if bias is None else z + bias)

    def embed_batch(self, prop: BatchPropagation, idx: np.ndarray) -> torch.Tensor:
        """H_B = PReLU((S X W)_B + b), (B, hidden), for the nodes ``idx``."""
        z, _ = prop.products(idx, self.encoder.weight, corrupted=False)
        return self._act(z)

    def forward_batch(self, prop: BatchPropagation, idx: np.ndarray, defer: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A node batch's (positive logits (B,), negative logits (B,), H_B (B, hidden)), the
        negatives from the epoch's corruption; the summary is the batch's readout (mini-batch
        training, :class:`~graphclust.nn.sparse.BatchPropagation`; ``defer`` as in its
        ``products``)."""
        z, z_neg = prop.products(idx, self.encoder.weight, defer=defer)
        assert z_neg is not None
        h, h_neg = self._act(z), self._act(z_neg)
        summary = torch.sigmoid(h.mean(0))
        ws = self.disc.weight[0] @ summary
        b = self.disc.bias[0]
        return h @ ws + b, h_neg @ ws + b, h


class BatchForward(nn.Module):
    """:meth:`InfomaxModel.forward_batch` as a module's ``forward``, so that
    :class:`torch.nn.parallel.DistributedDataParallel` can wrap it (DDP hooks the gradients
    of the parameters used in the wrapped module's ``forward``)."""

    def __init__(self, model: InfomaxModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, prop: BatchPropagation, idx: np.ndarray, defer: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model.forward_batch(prop, idx, defer)


def infomax_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """L_MI (gmim eq. 2, dgi eq. 1): BCE of positives vs 1 and negatives vs 0, averaged."""
    bce = nn.functional.binary_cross_entropy_with_logits
    return 0.5 * (bce(pos, torch.ones_like(pos)) + bce(neg, torch.zeros_like(neg)))
