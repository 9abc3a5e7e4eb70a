"""VaDE: Variational Deep Embedding (Jiang, Zheng, Tan, Tang, Zhou, "Variational Deep
Embedding: An Unsupervised and Generative Approach to Clustering", IJCAI 2017,
https://arxiv.org/abs/1611.05148), the Gaussian-mixture VAE that DGG extends; DGG with no
neighbours (N_s = 0) has exactly this objective.

1. Pre-training (ours, label-free): the autoencoder d-500-500-2000-10 trained end to end as
   a denoising autoencoder (masking noise ``pretrain_noise``) on the reconstruction loss of
   the chosen likelihood, in mini-batches. The authors load released weights, which are
   not available and were not trained label-free.
2. A diagonal Gaussian mixture (scikit-learn, ``n_init`` restarts) on the codes starts the
   prior p(c) p(z|c); the encoder's log-variance head starts at ``init_var``.
3. ``n_epochs`` epochs of mini-batch Adam on the negative ELBO (VaDE eq. 17, the terms in
   :mod:`graphclust.nn.vae`), with q(c|x) = p(c|z) at the sampled z, the learning rate
   times ``lr_gamma`` every ``lr_step`` epochs (the authors' 0.9 every 10).
4. Labels: argmax_c p(c | z = mu(x)) at the last epoch.

A run that ends with fewer non-empty clusters than ``n_clusters`` warns (the known failure
of VaDE: components die when their weight pi_k falls towards 0).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import nn

from graphclust.base import check_positive_float, check_positive_int, minibatches
from graphclust.graph import Graph
from graphclust.methods._autoencoder import LikelihoodAutoencoderMethod
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.vae import (
    GaussianEncoder,
    MixturePrior,
    mixture_elbo,
    mixture_log_responsibilities,
    mixture_responsibilities,
    reparameterize,
)

__all__ = ["VaDE", "CollapseWarning"]

log = logging.getLogger(__name__)

class CollapseWarning(UserWarning):
    """A clustering ended with fewer non-empty clusters than asked for."""


def warn_if_collapsed(name: str, labels: np.ndarray, n_clusters: int) -> int:
    """Warn when ``labels`` use fewer than ``n_clusters`` clusters; return how many they use."""
    used = int(np.unique(labels).size)
    if used < n_clusters:
        warnings.warn(
            f"{name}: only {used} of the {n_clusters} clusters asked for hold any node at the "
            "end (components collapsed); see the method's page for settings that avoid it.",
            CollapseWarning, stacklevel=3,
        )
    return used


@dataclass(repr=False, eq=False)
class VaDE(LikelihoodAutoencoderMethod):
    """Gaussian-mixture VAE clustering of the node features (the graph is not used).

    Parameters
    ----------
    n_clusters : int, default 10
    widths, pretrain_lr, batch_size : default (500, 500, 2000, 10), 0.001, 256
        See :class:`~graphclust.methods._autoencoder.AutoencoderMethod` (paper and code:
        d-500-500-2000-10, the last width the latent size).
    likelihood, pretrain_noise : default "auto", 0.2
        p(x|z) and the denoising pre-training's masking noise: see
        :class:`~graphclust.methods._autoencoder.LikelihoodAutoencoderMethod`.
    pretrain_epochs : int, default 50
        Epochs of the denoising-autoencoder pre-training.
    n_epochs : int, default 100
        VaDE epochs (the authors run 300 on MNIST's 70k images).
    lr, lr_step, lr_gamma : default 0.002, 10, 0.9
        Adam learning rate of the VaDE phase, times ``lr_gamma`` every ``lr_step`` epochs
        (authors' code: 0.002 and 0.9 every 10; the paper's 0.02 is taken as a typo).
    recon_weight : float, default 1.0
        Factor of log p(x|z) in the objective, 1 / eta of DGG section 4.2 (the authors' code
        scales the reconstruction by 0.1 on STL-10 and Reuters, 100 on HHAR, 1 on MNIST).
    init_var : float, default 0.01
        Starting encoder variance.
    min_var : float, default 1e-6
        Floor of the prior's variances.
    n_init : int, default 5
        Restarts of the GMM that starts the prior.
    random_state, device, verbose : see :class:`~graphclust.base.BaseGraphClusterer`.

    Attributes
    ----------
    labels_ (N,), embedding_ (N, latent) = mu(x), responsibilities_ (N, K),
    pretrain_labels_ (N,) : the GMM's assignment of the pre-trained codes,
    weights_ (K,), means_ (K, latent), variances_ (K, latent) : the learned prior,
    n_nonempty_ : clusters holding a node at the end,
    history_ : "pretrain/recon", "joint/elbo", "joint/recon".
    """

    uses_graph = False

    n_clusters: int = 10
    _: KW_ONLY
    pretrain_epochs: int = 50
    n_epochs: int = 100
    lr: float = 0.002
    lr_step: int = 10
    lr_gamma: float = 0.9
    recon_weight: float = 1.0
    init_var: float = 0.01
    min_var: float = 1e-6
    n_init: int = 5

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        return dict(widths=(16, 16, 32, 4), pretrain_epochs=3, n_epochs=3, batch_size=64,
                    n_init=1, pretrain_min_steps=0)

    def _check_params(self, graph: Graph) -> None:
        super()._check_params(graph)
        for name in ("lr_step", "n_init"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("n_epochs", self.n_epochs, minimum=0)
        for name in ("lr", "lr_gamma", "init_var", "min_var", "recon_weight"):
            check_positive_float(name, getattr(self, name))

    # ------------------------------------------------------------------ pieces
    def _elbo(self, x: torch.Tensor, encoder: GaussianEncoder, prior: MixturePrior,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(ELBO per sample (N,), log p(x|z) per sample (N,)), VaDE eq. 17."""
        mu, logvar = encoder(x)  # (N, M) each
        z = reparameterize(mu, logvar, gen)
        recon = self.recon_weight * self._log_likelihood(x, encoder.decode(z))
        params = prior.params()
        log_gamma = mixture_log_responsibilities(z, params)  # (N, K), q(c|x) = p(c|z)
        return mixture_elbo(recon, mu, logvar, log_gamma, params, prior.log_weights()), recon

    def _init_prior(self, codes: np.ndarray, prior: MixturePrior, rng: np.random.Generator,
                    device: torch.device) -> None:
        gmm = GaussianMixture(self.n_clusters, covariance_type="diag", n_init=self.n_init,
                              reg_covar=self.min_var, random_state=int(rng.integers(2**31)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a restart that did not converge is fine here
            self.pretrain_labels_ = gmm.fit_predict(codes).astype(np.int64)
        prior.initialise(*(torch.as_tensor(a, dtype=torch.float32, device=device) for a in (
            gmm.weights_, gmm.means_, gmm.covariances_)))

    def _start(self, graph: Graph, x: torch.Tensor, ae: Autoencoder, codes: np.ndarray,
               prior: MixturePrior, gen: torch.Generator, rng: np.random.Generator) -> None:
        """Step 2: the prior's start (VaDE: a GMM on the codes)."""
        self._init_prior(codes, prior, rng, x.device)

    # ------------------------------------------------------------------ fit
    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        x, gen, ae = self._pretrained(graph, device, rng)  # step 1
        encoder = GaussianEncoder(ae, init_var=self.init_var).to(device)
        prior = MixturePrior(self.n_clusters, int(self.widths[-1]), min_var=self.min_var).to(device)
        with torch.no_grad():
            codes = ae.encode(x)[-1].cpu().numpy()
        self._start(graph, x, ae, codes, prior, gen, rng)  # step 2
        model = nn.ModuleDict({"encoder": encoder, "prior": prior})
        self._joint(graph, x, model, gen, rng)  # step 3
        model.eval()
        self.model_ = model
        self.device_ = device
        resp, mu = self._assign(x)
        self.embedding_ = mu
        self.responsibilities_ = resp
        self.labels_ = resp.argmax(1).astype(np.int64)  # step 4
        params = prior.params()
        self.weights_, self.means_, self.variances_ = (
            p.detach().cpu().numpy() for p in (params.weights, params.means, params.variances))
        self.n_nonempty_ = warn_if_collapsed(type(self).__name__, self.labels_, self.n_clusters)

    def _joint(self, graph: Graph, x: torch.Tensor, model: nn.ModuleDict, gen: torch.Generator,
               rng: np.random.Generator) -> None:
        """Step 3: mini-batch Adam on the negative ELBO (``model``: encoder and prior)."""
        encoder: GaussianEncoder = model["encoder"]  # type: ignore[assignment]
        prior: MixturePrior = model["prior"]  # type: ignore[assignment]

        def step(epoch: int, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            elbo, recon = self._elbo(x.index_select(0, idx), encoder, prior, gen)
            return -elbo.mean(), {"elbo": elbo.mean(), "recon": recon.mean()}

        self._train("joint", model, step, n_epochs=self.n_epochs, lr=self.lr,
                    batches=lambda epoch: minibatches(x.shape[0], self.batch_size, gen, x.device),
                    lr_schedule="step", lr_step=self.lr_step, lr_gamma=self.lr_gamma)

    def _responsibilities(self, mu: torch.Tensor) -> torch.Tensor:
        """q(c | x) at z = mu(x) (N, K): VaDE's p(c | z)."""
        prior: MixturePrior = self.model_["prior"]  # type: ignore[assignment]
        return mixture_responsibilities(mu, prior.params())

    def _assign(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(q(c | z = mu(x)) (N, K), mu(x) (N, M)) with the fitted model."""
        encoder: GaussianEncoder = self.model_["encoder"]  # type: ignore[assignment]
        with torch.no_grad():
            mu, _ = encoder(x)
            resp = self._responsibilities(mu)
        return resp.cpu().numpy(), mu.cpu().numpy()

    def _other(self, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
        self._check_same_features(graph)
        return self._assign(self._features(graph, self.device_))

    def transform(self, graph: Graph | None = None) -> np.ndarray:
        """mu(x) (N, latent): the training nodes' for ``None``, else ``graph``'s."""
        self._check_fitted()
        return self.embedding_ if graph is None else self._other(graph)[1]

    def predict_proba(self, graph: Graph | None = None) -> np.ndarray:
        """p(c | z = mu(x)) (N, K): the training nodes' for ``None``, else ``graph``'s."""
        self._check_fitted()
        return self.responsibilities_ if graph is None else self._other(graph)[0]

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """argmax of :meth:`predict_proba` (``labels_`` for ``None``)."""
        if graph is None:
            return super().predict()
        return self.predict_proba(graph).argmax(1).astype(np.int64)
