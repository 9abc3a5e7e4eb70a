"""Small encoders for contrastive clustering on CPU, and the two heads of GCC.

* :class:`SmallCNN`: convolution blocks (3x3 conv, BatchNorm, ReLU, 2x2 max-pool after
  every block but the last) and a global average pool, for 16-32 px greyscale images (the
  CPU-sized stand-in for GCC's ResNet-18, ``gcc-notes.md``).
* :class:`MLPEncoder`: Linear-BatchNorm-ReLU layers, for feature vectors (propagated graph
  features, tabular data).
* :class:`ProjectionHead`: Linear-ReLU-Linear, then L2 normalisation (GCC's contrastive head,
  512 -> 512 -> 128 in the authors' code, sized from the backbone here).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLPEncoder", "ProjectionHead", "SmallCNN"]


class SmallCNN(nn.Module):
    """(B, C, H, W) -> (B, channels[-1]). FLOPs per image: sum over blocks of
    9 C_in C_out H_b W_b multiply-adds, H_b W_b the block's resolution (halved per pool)."""

    def __init__(self, in_channels: int, channels: Sequence[int] = (32, 64, 128)) -> None:
        super().__init__()
        if not channels:
            raise ValueError("channels must list at least one width but is empty.")
        layers: list[nn.Module] = []
        previous = in_channels
        for i, width in enumerate(channels):
            layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.out_dim = int(channels[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


class MLPEncoder(nn.Module):
    """(B, D) -> (B, widths[-1]): Linear-BatchNorm-ReLU per width."""

    def __init__(self, in_dim: int, widths: Sequence[int] = (512, 512)) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths must list at least one width but is empty.")
        layers: list[nn.Module] = []
        previous = in_dim
        for width in widths:
            layers += [nn.Linear(previous, width, bias=False), nn.BatchNorm1d(width),
                       nn.ReLU(inplace=True)]
            previous = width
        self.net = nn.Sequential(*layers)
        self.out_dim = int(widths[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ProjectionHead(nn.Module):
    """(B, in_dim) -> (B, out_dim), unit L2 norm: Linear-ReLU-Linear."""

    def __init__(self, in_dim: int, out_dim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(inplace=True),
                                 nn.Linear(in_dim, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.net(h), dim=1)
