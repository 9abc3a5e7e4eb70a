"""The graph convolution layer ``H' = act(S H W + b)`` (Kipf & Welling, "Semi-Supervised
Classification with Graph Convolutional Networks", ICLR 2017, eq. 2), shared by DGI and
GMIM (one layer, PReLU, S the normalised adjacency or its PPR diffusion) and AGCN (a stack
of layers with LeakyReLU 0.2 and no bias).

Why not ``torch_geometric.nn.GCNConv``: it normalises the graph and scatters messages on
every call. Here S is a :class:`~graphclust.nn.sparse.FixedMatrix` built once, the product
runs on the narrower side of W (``(S H) W`` when W widens, ``S (H W)`` otherwise: the same
maths, the sparse product at the smaller width), and DGI can split the layer into
:meth:`GCNLayer.project` and :meth:`GCNLayer.propagate` to share ``X W`` between the clean
and the corrupted graph.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from graphclust.nn.sparse import FixedMatrix

__all__ = ["GCNLayer", "prelu"]

Activation = Literal["prelu", "leaky_relu", "none"]


class _PReLU(torch.autograd.Function):
    """PReLU with one shared slope a: max(z, 0) + a min(z, 0), on torch's leaky-ReLU kernels.

    torch's own PReLU backward reduces an (N, hidden) per-element slope gradient and runs
    several times slower on CPU for (N, hidden) inputs. Here both directions are single
    fused passes (``leaky_relu`` and its backward, with the slope taken as a number) and the
    slope's gradient is one dot product, sum(grad * min(z, 0)).
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(z, a)
        return nn.functional.leaky_relu(z, float(a))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, a = ctx.saved_tensors
        grad = grad.contiguous()
        # d/dz = 1 where z > 0, a elsewhere (z = 0 counts as negative, as torch does)
        grad_z = torch.ops.aten.leaky_relu_backward(grad, z, float(a), False)
        grad_a = torch.dot(grad.reshape(-1), z.clamp_max(0).reshape(-1)).reshape(a.shape)
        return grad_z, grad_a


def prelu(z: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """PReLU with one learnable slope (a 0-d tensor): ``max(z, 0) + slope * min(z, 0)``."""
    out: torch.Tensor = _PReLU.apply(z, slope)
    return out


class GCNLayer(nn.Module):
    """``act(S H W + b)``: (N, in_features) -> (N, out_features).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    activation : {"prelu", "leaky_relu", "none"}, default "prelu"
        "prelu" has one learnable slope, initialised at 0.25 (the DGI reference code);
        "leaky_relu" has the fixed ``negative_slope`` (AGCN: 0.2).
    negative_slope : float, default 0.2
    """

    def __init__(
        self, in_features: int, out_features: int, *, bias: bool = True,
        activation: Activation = "prelu", negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        if activation not in ("prelu", "leaky_relu", "none"):
            raise ValueError(
                f"activation must be 'prelu', 'leaky_relu' or 'none' but got {activation!r}."
            )
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(in_features, out_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.slope = nn.Parameter(torch.tensor(0.25)) if activation == "prelu" else None
        self.activation = activation
        self.negative_slope = float(negative_slope)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        if self.slope is not None:
            return prelu(z, self.slope)
        if self.activation == "leaky_relu":
            return nn.functional.leaky_relu(z, self.negative_slope)
        return z

    def project(self, h: torch.Tensor | FixedMatrix) -> torch.Tensor:
        """``H W``, (N, in) -> (N, out); H may be a (sparse) FixedMatrix."""
        return h @ self.weight

    def propagate(self, s: FixedMatrix, hw: torch.Tensor) -> torch.Tensor:
        """``act(S (H W) + b)``, (N, out) -> (N, out)."""
        return self.act(s.addmm(self.bias, hw))

    def forward(self, s: FixedMatrix, h: torch.Tensor | FixedMatrix) -> torch.Tensor:
        """``act(S H W + b)`` with the sparse product on the narrower side of W."""
        if isinstance(h, torch.Tensor) and self.weight.shape[0] < self.weight.shape[1]:
            out = (s @ h) @ self.weight
            return self.act(out if self.bias is None else out + self.bias)
        return self.propagate(s, self.project(h))
