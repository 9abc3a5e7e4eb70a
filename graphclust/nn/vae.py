"""Gaussian-mixture VAE pieces shared by VaDE and DGG.

VaDE: Jiang, Zheng, Tan, Tang, Zhou, "Variational Deep Embedding: An Unsupervised and
Generative Approach to Clustering", IJCAI 2017. DGG: Yang, Cheung, Li, Fang, "Deep
Clustering by Gaussian Mixture Variational Autoencoders with Graph Embedding", ICCV 2019.

Generative model: c ~ Cat(pi), z | c ~ N(mu_c, diag sigma_c^2), x | z ~ Bernoulli(sigmoid
g(z)) or N(g(z), I). Inference: q(z|x) = N(mu~(x), diag sigma~^2(x)), q(c|x) = gamma. The
ELBO of one sample (VaDE eq. 17; DGG eq. 26 with q(z|x_j) in place of q(z|x_i)) is the sum of

* ``log p(x|z)`` at one reparameterised sample (:func:`bernoulli_log_likelihood`,
  :func:`gaussian_log_likelihood`);
* ``sum_k gamma_k E_q[log N(z | mu_k, sigma_k^2)]``, the expectation in closed form, with the
  encoder's variance (:func:`expected_log_gaussian`), not at a point;
* ``sum_k gamma_k (log pi_k - log gamma_k)`` (:func:`categorical_terms`);
* the entropy of q(z|x), ``1/2 sum_m (1 + log 2 pi sigma~_m^2)`` (:func:`gaussian_entropy`).

Every function is pure, takes tensors and documents their shapes; the pieces that hold
parameters are :class:`GaussianEncoder` (an :class:`~graphclust.nn.autoencoder.Autoencoder`
plus a log-variance head: pre-train the autoencoder, then the mean head is its code layer)
and :class:`MixturePrior` (learnable weights, means and log-variances).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from graphclust.mixture import MixtureParams, log_gaussian
from graphclust.nn.autoencoder import Autoencoder

__all__ = [
    "Classifier",
    "GaussianEncoder",
    "MixturePrior",
    "reparameterize",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "expected_log_gaussian",
    "categorical_terms",
    "mixture_elbo",
    "gaussian_entropy",
    "mixture_responsibilities",
    "mixture_log_responsibilities",
]

_LOG_2PI = math.log(2.0 * math.pi)


class GaussianEncoder(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x))) on top of an autoencoder.

    ``mu`` is the autoencoder's code layer; ``logvar`` a linear head on the last hidden
    layer, initialised so that the encoder variance starts at ``init_var`` (small: the
    pre-trained code is then nearly deterministic at the start of VAE training).
    """

    def __init__(self, autoencoder: Autoencoder, *, init_var: float = 1e-2) -> None:
        super().__init__()
        if len(autoencoder.widths) < 2:
            raise ValueError("the autoencoder needs a hidden layer before its code layer.")
        self.ae = autoencoder
        self.logvar = nn.Linear(autoencoder.widths[-2], autoencoder.widths[-1])
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, math.log(init_var))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu (N, M), logvar (N, M))."""
        hidden = self.ae.encode(x)
        return hidden[-1], self.logvar(hidden[-2])

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output g(z) (N, D): Bernoulli logits or the Gaussian mean."""
        return self.ae.decode(z)


class Classifier(nn.Module):
    """DGG's q(c|z) = Cat(softmax f2(z)) (eqs. 5-7): linear layers latent -> hidden... -> K
    with ReLU between them (authors' code: 10 -> 10 on MNIST, 10 -> 10 -> 10 on STL-10)."""

    def __init__(self, latent: int, n_classes: int, hidden: tuple[int, ...] = ()) -> None:
        super().__init__()
        dims = [int(latent), *map(int, hidden), int(n_classes)]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """log q(c|z) (N, K), a log-softmax."""
        h = z
        for i, layer in enumerate(self.layers):
            h = layer(h if i == 0 else torch.relu(h))
        return torch.log_softmax(h, dim=1)


class MixturePrior(nn.Module):
    """p(c) p(z|c): weights softmax(logits) (K,), means (K, M), variances exp(logvar) (K, M).

    Variances are parameterised in log space with a floor ``min_var`` (added), so no step
    can make one zero or negative (the authors' code trains the raw standard deviation).
    """

    def __init__(self, n_components: int, dim: int, *, min_var: float = 1e-6) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_components))
        self.means = nn.Parameter(torch.zeros(n_components, dim))
        self.logvar = nn.Parameter(torch.zeros(n_components, dim))
        self.min_var = float(min_var)

    @torch.no_grad()
    def initialise(self, weights: torch.Tensor, means: torch.Tensor, variances: torch.Tensor) -> None:
        """Start from a fitted mixture (e.g. a GMM on the pre-trained codes)."""
        self.logits.copy_(torch.log(weights.clamp_min(1e-12)))
        self.means.copy_(means)
        self.logvar.copy_(torch.log((variances - self.min_var).clamp_min(1e-12)))

    def params(self) -> MixtureParams:
        """The mixture as :class:`~graphclust.mixture.MixtureParams` (differentiable)."""
        return MixtureParams(torch.softmax(self.logits, 0), self.means,
                             torch.exp(self.logvar) + self.min_var)

    def log_weights(self) -> torch.Tensor:
        """log pi (K,)."""
        return torch.log_softmax(self.logits, 0)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): (N, M), (N, M) -> (N, M)."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device="cpu").to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """sum_d x_d log s(l_d) + (1 - x_d) log(1 - s(l_d)), s the sigmoid: (N, D) -> (N,).

    From the logits (binary cross-entropy with logits), exact where s(l) rounds to 0 or 1.
    ``x`` in [0, 1] (pixel intensities are the usual relaxation of binary data).
    """
    return -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, I) = -1/2 (||x - mean||^2 + D log 2 pi): (N, D) -> (N,)."""
    return -0.5 * ((x - mean).square().sum(1) + x.shape[1] * _LOG_2PI)


def expected_log_gaussian(mu: torch.Tensor, logvar: torch.Tensor, params: MixtureParams
                          ) -> torch.Tensor:
    """E_{z ~ N(mu, diag exp(logvar))} log N(z | mu_k, diag sigma_k^2) for every k: (N, K).

    = log N(mu | mu_k, sigma_k^2) - 1/2 sum_m sigma~_m^2 / sigma_km^2: the point density at
    the encoder mean, less the encoder variance measured in the component's units. Computed
    with matrix products (no (N, K, M) tensor), like :func:`~graphclust.mixture.log_gaussian`.
    """
    at_mean = log_gaussian(mu, params.means, params.variances)  # (N, K)
    return at_mean - 0.5 * torch.exp(logvar) @ (1.0 / params.variances).T


def categorical_terms(log_gamma: torch.Tensor, log_pi: torch.Tensor) -> torch.Tensor:
    """sum_k gamma_k (log pi_k - log gamma_k) from log gamma: (N, K), (K,) or (N, K) -> (N,).

    ``log_pi`` is a global (K,) vector (VaDE) or per sample (N, K) (DGG's pi_i). Taking
    log gamma (a log-softmax) keeps the gradient finite where gamma underflows to 0, where
    ``gamma log gamma`` has the gradient log 0.
    """
    return (log_gamma.exp() * (log_pi - log_gamma)).sum(1)


def mixture_elbo(log_lik: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 log_gamma: torch.Tensor, params: MixtureParams, log_pi: torch.Tensor,
                 weight: torch.Tensor | None = None) -> torch.Tensor:
    """The ELBO of each sample j, or a weighted sum of ELBOs that share q(z|x_j): (N,).

    ``log_lik`` (N,) log p(target | z_j); ``mu``, ``logvar`` (N, M) q(z|x_j); ``log_gamma``
    (N, K) log q(c|x_j); ``log_pi`` (K,) or (N, K).

    Without ``weight`` this is VaDE's eq. 17: ``log_lik + sum_k gamma_k E log N(z|mu_k,
    sigma_k^2) - sum_k gamma_k log gamma_k + H(q) + sum_k gamma_k log pi_k``.
    DGG sums x_i's ELBO under q(.|x_j) over the pairs (i, j) with weights v_ij; every term
    but the reconstruction and log pi_i depends on j alone, so the pair sum collapses to
    ``c_j (log_lik + E-term - gamma log gamma + H) + sum_k gamma_jk P_jk`` with
    ``weight`` = c_j = sum_i v_ij (N,), ``log_pi`` = P_j = sum_i v_ij log pi_i (N, K) and
    ``log_lik`` the likelihood of the weighted mean target (see :mod:`graphclust.methods.dgg`).
    """
    gamma = log_gamma.exp()
    own = (log_lik + (gamma * expected_log_gaussian(mu, logvar, params)).sum(1)
           - (gamma * log_gamma).sum(1) + gaussian_entropy(logvar))
    if weight is not None:
        own = weight * own
    return own + (gamma * log_pi).sum(1)


def gaussian_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """Entropy of N(mu, diag exp(logvar)): 1/2 sum_m (1 + log 2 pi + logvar_m): (N, M) -> (N,)."""
    return 0.5 * (logvar + 1.0 + _LOG_2PI).sum(1)


def mixture_log_responsibilities(z: torch.Tensor, params: MixtureParams) -> torch.Tensor:
    """log of VaDE's q(c|x) ~ p(c|z) = pi_c N(z|mu_c, sigma_c^2) / sum_k ...: (N, M) -> (N, K)."""
    logits = log_gaussian(z, params.means, params.variances) + torch.log(params.weights)
    return torch.log_softmax(logits, dim=1)


def mixture_responsibilities(z: torch.Tensor, params: MixtureParams) -> torch.Tensor:
    """p(c|z), (N, M) -> (N, K): exp of :func:`mixture_log_responsibilities`."""
    return mixture_log_responsibilities(z, params).exp()
