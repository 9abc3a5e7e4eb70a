"""The Gaussian-mixture VAE pieces alone (hand-made values, Monte Carlo, SciPy), and VaDE."""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from graphclust import Graph, VaDE, evaluate
from graphclust.mixture import MixtureParams
from graphclust.neighbors import knn_graph
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.vae import (
    GaussianEncoder,
    MixturePrior,
    bernoulli_log_likelihood,
    categorical_terms,
    expected_log_gaussian,
    gaussian_entropy,
    gaussian_log_likelihood,
    mixture_log_responsibilities,
    reparameterize,
)


def _params():
    return MixtureParams(torch.tensor([0.3, 0.7], dtype=torch.float64),
                         torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64),
                         torch.tensor([[1.0, 0.5], [0.25, 2.0]], dtype=torch.float64))


def test_expected_log_gaussian_matches_monte_carlo():
    mu = torch.tensor([[0.5, 0.2], [1.5, -0.5]], dtype=torch.float64)
    logvar = torch.log(torch.tensor([[0.3, 0.1], [0.05, 0.6]], dtype=torch.float64))
    p = _params()
    got = expected_log_gaussian(mu, logvar, p)  # (2, 2)
    gen = torch.Generator().manual_seed(0)
    z = mu + torch.exp(0.5 * logvar) * torch.randn((200_000, 2, 2), generator=gen,
                                                   dtype=torch.float64)
    for k in range(2):
        dens = multivariate_normal(p.means[k].numpy(), np.diag(p.variances[k].numpy()))
        mc = dens.logpdf(z.numpy().reshape(-1, 2)).reshape(200_000, 2).mean(0)
        np.testing.assert_allclose(got[:, k].numpy(), mc, rtol=0, atol=0.01)


def test_bernoulli_log_likelihood_by_hand_and_at_extreme_logits():
    x = torch.tensor([[1.0, 0.0, 0.5]])
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    s = torch.sigmoid(logits)
    want = (x * torch.log(s) + (1 - x) * torch.log(1 - s)).sum(1)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), want)
    # sigmoid(60) rounds to 1 in float32: log(1 - s) would be -inf, the logits form is -60
    assert float(bernoulli_log_likelihood(torch.tensor([[0.0]]), torch.tensor([[60.0]]))) == \
        pytest.approx(-60.0, rel=1e-6)


def test_gaussian_log_likelihood_and_entropy_match_scipy():
    x = np.array([[0.1, -0.4, 2.0]])
    mean = np.array([[0.0, 0.5, 1.0]])
    want = multivariate_normal(mean[0], np.eye(3)).logpdf(x[0])
    assert float(gaussian_log_likelihood(torch.tensor(x), torch.tensor(mean))) == pytest.approx(want)
    var = np.array([0.3, 2.0, 0.01])
    want = multivariate_normal(np.zeros(3), np.diag(var)).entropy()
    assert float(gaussian_entropy(torch.tensor(np.log(var))[None])) == pytest.approx(want)


def test_categorical_terms_by_hand_and_finite_gradient_where_gamma_underflows():
    log_gamma = torch.log(torch.tensor([[0.25, 0.75]]))
    log_pi = torch.log(torch.tensor([0.5, 0.5]))
    want = 0.25 * np.log(0.5 / 0.25) + 0.75 * np.log(0.5 / 0.75)
    assert float(categorical_terms(log_gamma, log_pi)) == pytest.approx(want, rel=1e-6)
    # a component 300 nats away: gamma = 0 in float32, gamma log gamma's gradient is log 0
    logits = torch.tensor([[0.0, -300.0]], requires_grad=True)
    out = categorical_terms(torch.log_softmax(logits, 1), log_pi)
    out.backward()
    assert torch.isfinite(logits.grad).all()


def test_responsibilities_are_the_posterior_of_the_prior():
    p = _params()
    z = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    dens = [p.weights[k] * multivariate_normal(p.means[k], np.diag(p.variances[k])).pdf(z[0])
            for k in range(2)]
    got = mixture_log_responsibilities(z, p).exp()[0].numpy()
    np.testing.assert_allclose(got, np.array(dens) / np.sum(dens), rtol=1e-10)


def test_prior_and_encoder_start_where_they_are_told():
    prior = MixturePrior(2, 2, min_var=1e-6)
    p = _params()
    prior.initialise(*(t.float() for t in (p.weights, p.means, p.variances)))
    got = prior.params()
    torch.testing.assert_close(got.weights, p.weights.float())
    torch.testing.assert_close(got.variances, p.variances.float())
    enc = GaussianEncoder(Autoencoder(6, [8, 3]), init_var=0.04)
    mu, logvar = enc(torch.randn(5, 6))
    assert mu.shape == logvar.shape == (5, 3)
    torch.testing.assert_close(logvar.exp(), torch.full((5, 3), 0.04))
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.shape == (5, 3) and not torch.equal(z, mu)


def _blobs(n=300, k=3, d=20, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    centres = rng.uniform(0.1, 0.9, (k, d))
    x = np.clip(centres[y] + rng.normal(0, 0.05, (n, d)), 0, 1).astype(np.float32)
    return Graph(x, knn_graph(x, 5), y, "blobs")


def test_vade_clusters_separated_blobs_and_computes_on_new_samples():
    g = _blobs()
    params = dict(widths=(32, 32, 64, 4), pretrain_epochs=40, n_epochs=30, batch_size=64,
                  pretrain_min_steps=0, lr=0.002, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no collapse warning
        m = VaDE(3, **params).fit(g)
    assert m.likelihood_ == "bernoulli" and m.n_nonempty_ == 3
    assert evaluate(g.labels, m.labels_)["acc"] > 0.95
    assert m.n_iter_per_phase_ == {"pretrain": 40, "joint": 30}
    np.testing.assert_array_equal(m.predict(g), m.labels_)


def test_vade_warns_on_collapse_and_checks_its_input():
    from graphclust.methods.vade import CollapseWarning, warn_if_collapsed

    with pytest.warns(CollapseWarning, match="only 2 of the 3 clusters asked for hold any node"):
        assert warn_if_collapsed("VaDE", np.array([0, 0, 2, 2]), 3) == 2
    g = _blobs(n=30)
    with pytest.raises(ValueError, match="pretrain_noise is the fraction of inputs zeroed"):
        VaDE(3, pretrain_noise=1.5).fit(g)
    shifted = Graph(g.features - 2.0, g.adjacency, g.labels)
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs features in \[0, 1\]"):
        VaDE(3, likelihood="bernoulli").fit(shifted)


def test_pretraining_runs_at_least_pretrain_min_steps():
    g = _blobs()  # 300 samples: 5 batches of 64 per epoch
    m = VaDE(3, widths=(8, 4), pretrain_epochs=1, pretrain_min_steps=11, n_epochs=1,
             batch_size=64, n_init=1, random_state=0).fit(g)
    assert m.pretrain_epochs_ == 3 and len(m.history_["pretrain/recon"]) == 3  # ceil(11 / 5)
    m = VaDE(3, widths=(8, 4), pretrain_epochs=2, pretrain_min_steps=0, n_epochs=1,
             batch_size=64, n_init=1, random_state=0).fit(g)
    assert m.pretrain_epochs_ == 2
    with pytest.raises(ValueError, match="pretrain_min_steps"):
        VaDE(3, pretrain_min_steps=-1).fit(g)
