"""The parameter block and the pre-training step of the methods that start from an
autoencoder d-w_1-...-w_l (AGCN, VaDE, DGG, the autoencoder baselines): its widths, and the
mini-batch reconstruction training that comes before the clustering phase, through the base
loop; for the generative ones (VaDE, DGG, baselines) also the likelihood p(x|z)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Literal

import numpy as np
import torch

from graphclust.base import (
    BaseGraphClusterer,
    check_choice,
    check_positive_float,
    check_positive_int,
    minibatches,
)
from graphclust.graph import Graph
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.sparse import bf16_autocast
from graphclust.nn.vae import bernoulli_log_likelihood, gaussian_log_likelihood

log = logging.getLogger(__name__)

__all__ = ["AutoencoderMethod", "LikelihoodAutoencoderMethod"]

#: ``loss(target batch (B, D), reconstruction (B, D)) -> scalar``
ReconstructionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(repr=False, eq=False)
class AutoencoderMethod(BaseGraphClusterer):
    """Shared parameters (each method sets its own defaults):

    widths : tuple of int, default (500, 500, 2000, 10)
        Encoder widths, the last the embedding (DEC/IDEC/SDCN/AGCN/VaDE: d-500-500-2000-10).
    pretrain_epochs, pretrain_lr, batch_size : default 30, 0.001, 256
        Mini-batch Adam pre-training of the autoencoder on its reconstruction loss.
    """

    _: KW_ONLY
    widths: Sequence[int] = (500, 500, 2000, 10)
    pretrain_epochs: int = 30
    pretrain_lr: float = 0.001
    batch_size: int = 256

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        widths = tuple(self.widths)
        if len(widths) < 2 or any(
            isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in widths
        ):
            raise ValueError(
                f"widths must list at least two positive ints (paper: (500, 500, 2000, 10)) "
                f"but got {self.widths!r}."
            )
        for name in ("pretrain_epochs", "batch_size"):
            check_positive_int(name, getattr(self, name))
        check_positive_float("pretrain_lr", self.pretrain_lr)
        if graph.n_features == 0:
            raise ValueError(f"Graph {graph.name!r} has no node features (F = 0); "
                             f"{type(self).__name__} needs features.")

    def _pretrain_autoencoder(
        self, ae: Autoencoder, x: torch.Tensor, loss: ReconstructionLoss,
        generator: torch.Generator, *, masking: float = 0.0, mixed_precision: bool = False,
        n_epochs: int | None = None,
    ) -> None:
        """Train ``ae`` on the dense rows ``x`` (N, D): ``n_epochs`` (default
        ``pretrain_epochs``) epochs of shuffled mini-batches; with ``masking`` > 0 each input
        is zeroed with that probability (a denoising autoencoder; the loss still targets the
        clean batch)."""
        n, device = x.shape[0], x.device

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            batch = x.index_select(0, idx)
            inputs = batch
            if masking > 0:
                keep = torch.rand(batch.shape, generator=generator).to(device) < 1.0 - masking
                inputs = batch * keep
            with bf16_autocast(device, mixed_precision):
                x_hat, _ = ae(inputs)
            value = loss(batch, x_hat.float())
            return value, {"recon": value}

        epochs = self.pretrain_epochs if n_epochs is None else n_epochs
        self._train("pretrain", ae, step, n_epochs=epochs, lr=self.pretrain_lr,
                    batches=lambda epoch: minibatches(n, self.batch_size, generator, device))


Likelihood = Literal["auto", "bernoulli", "gaussian"]


@dataclass(repr=False, eq=False)
class LikelihoodAutoencoderMethod(AutoencoderMethod):
    """Methods whose autoencoder is the decoder of a likelihood p(x|z) (VaDE, DGG, and the
    autoencoder baselines beside them, which share their pre-training exactly):

    likelihood : {"auto", "bernoulli", "gaussian"}, default "auto"
        p(x|z); "auto" is Bernoulli when every feature lies in [0, 1] (pixels), else a
        unit-variance Gaussian.
    pretrain_noise : float, default 0.2
        Denoising pre-training: the fraction of inputs zeroed per sample (masking noise).
    pretrain_min_steps : int, default 2000
        The pre-training runs at least this many optimiser steps: ``pretrain_epochs`` is
        raised to ``ceil(pretrain_min_steps / batches per epoch)`` on small data (the
        resolved count is ``pretrain_epochs_``). 2000 is 50 epochs of 10,000 samples in
        batches of 256, where 50 epochs are the default; on COIL-20 (1,440 images, 6 batches)
        50 epochs leave the autoencoder under-trained, and the joint phase, still learning to
        reconstruct, moves the codes away from any start (DGG seed 0 from a UMAP start at
        77.9 ACC: 8.8 after 300 pre-training steps, 62.4 after 1,800). 0 turns the floor off.
    """

    _: KW_ONLY
    likelihood: Likelihood = "auto"
    pretrain_noise: float = 0.2
    pretrain_min_steps: int = 2000

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        check_choice("likelihood", self.likelihood, ("auto", "bernoulli", "gaussian"))
        check_positive_float("pretrain_noise", self.pretrain_noise, allow_zero=True)
        check_positive_int("pretrain_min_steps", self.pretrain_min_steps, minimum=0)
        if self.pretrain_noise >= 1:
            raise ValueError(f"pretrain_noise is the fraction of inputs zeroed, in [0, 1), "
                             f"but got {self.pretrain_noise!r}.")

    def _features(self, graph: Graph, device: torch.device) -> torch.Tensor:
        return torch.as_tensor(graph.dense_features(), device=device)

    def _resolve_likelihood(self, x: torch.Tensor) -> str:
        if self.likelihood != "auto":
            if self.likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
                raise ValueError("likelihood='bernoulli' needs features in [0, 1] but they span "
                                 f"[{float(x.min()):g}, {float(x.max()):g}]; scale them or use "
                                 "likelihood='gaussian'.")
            return str(self.likelihood)
        return "bernoulli" if bool(x.min() >= 0) and bool(x.max() <= 1) else "gaussian"

    def _log_likelihood(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (N,) from the decoder output (logits or mean)."""
        if self.likelihood_ == "bernoulli":
            return bernoulli_log_likelihood(x, out)
        return gaussian_log_likelihood(x, out)

    def _pretrained(self, graph: Graph, device: torch.device, rng: np.random.Generator
                    ) -> tuple[torch.Tensor, torch.Generator, Autoencoder]:
        """(features (N, D), the run's torch generator, the autoencoder pre-trained as a
        denoising autoencoder on -log p(x|z))."""
        x = self._features(graph, device)
        self.likelihood_ = self._resolve_likelihood(x)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        ae = Autoencoder(graph.n_features, [int(w) for w in self.widths]).to(device)
        per_epoch = math.ceil(x.shape[0] / self.batch_size)
        self.pretrain_epochs_ = max(int(self.pretrain_epochs),
                                    math.ceil(self.pretrain_min_steps / per_epoch))
        if self.pretrain_epochs_ > self.pretrain_epochs:
            log.info("%s: %d pre-training epochs (%d batches each) to reach pretrain_min_steps=%d",
                     type(self).__name__, self.pretrain_epochs_, per_epoch,
                     self.pretrain_min_steps)
        self._pretrain_autoencoder(
            ae, x, lambda batch, out: -self._log_likelihood(batch, out).mean(), gen,
            masking=float(self.pretrain_noise), n_epochs=self.pretrain_epochs_)
        return x, gen, ae
