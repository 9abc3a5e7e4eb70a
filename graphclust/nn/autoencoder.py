"""A fully connected autoencoder with widths from arguments, and its pre-training.

The deep-clustering papers built on DEC/IDEC/SDCN (AGCN among them, AGCN eq. 1) use
an encoder d-500-500-2000-10 with ReLU after every hidden layer, a linear embedding layer,
and the mirrored decoder with a linear output; pre-training minimises the mean squared
reconstruction error with Adam in mini-batches (SDCN/AGCN code: 30 epochs, batch 256,
lr 1e-3); the methods run it through the base class's training loop. The first layer
accepts a :class:`~graphclust.nn.sparse.FixedMatrix`, so sparse bag-of-words features are
never made dense for the forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from graphclust.nn.sparse import FixedMatrix

__all__ = ["Autoencoder"]


class Autoencoder(nn.Module):
    """Encoder in -> widths[0] -> ... -> widths[-1] and the mirrored decoder back to in."""

    def __init__(self, in_features: int, widths: Sequence[int]) -> None:
        super().__init__()
        if len(widths) < 1 or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty list of positive ints but got {widths!r}.")
        dims = [int(in_features), *map(int, widths)]
        self.widths = tuple(dims[1:])
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        back = dims[::-1]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:]))

    def encode(self, x: torch.Tensor | FixedMatrix) -> list[torch.Tensor]:
        """All encoder outputs [H_1, ..., H_l]; H_l (the embedding) is linear, the rest ReLU."""
        first = self.encoder[0]
        assert isinstance(first, nn.Linear)
        if isinstance(x, FixedMatrix):
            h = x @ first.weight.T + first.bias
        else:
            h = first(x)
        out = []
        for i, layer in enumerate(self.encoder):
            if i > 0:
                h = layer(h)
            if i < len(self.encoder) - 1:
                h = torch.relu(h)
            out.append(h)
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < len(self.decoder) - 1:
                h = torch.relu(h)
        return h

    def forward(self, x: torch.Tensor | FixedMatrix) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(reconstruction X_hat, [H_1, ..., H_l])."""
        hidden = self.encode(x)
        return self.decode(hidden[-1]), hidden
