import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from graphclust.mixture import MixtureParams, e_step, init_from_labels, log_gaussian, m_step, nll


def data():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(4, 0.5, (40, 3))])
    return x


def test_log_gaussian_matches_scipy():
    from scipy.stats import multivariate_normal

    x = data()
    means = np.array([[0.0, 1, 2], [1, 1, 1]])
    var = np.array([[1.0, 2, 3], [0.5, 0.5, 0.5]])
    got = log_gaussian(torch.tensor(x), torch.tensor(means), torch.tensor(var)).numpy()
    for k in range(2):
        ref = multivariate_normal(means[k], np.diag(var[k])).logpdf(x)
        assert np.allclose(got[:, k], ref)


def test_em_matches_sklearn_diag():
    x = data()
    gm = GaussianMixture(2, covariance_type="diag", max_iter=1, init_params="random_from_data", random_state=0)
    gm.fit(x)  # one EM iteration from its init; compare one of our steps from its fitted state
    p = MixtureParams(torch.tensor(gm.weights_), torch.tensor(gm.means_), torch.tensor(gm.covariances_))
    resp, log_norm = e_step(torch.tensor(x), p)
    assert np.allclose(resp.numpy(), gm.predict_proba(x), atol=1e-8)
    assert np.allclose(log_norm.numpy(), gm.score_samples(x))
    new = m_step(torch.tensor(x), resp, reg_covar=gm.reg_covar)
    _, ref_resp = gm._estimate_log_prob_resp(x)
    from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

    w, mu, cov = _estimate_gaussian_parameters(x, np.exp(ref_resp), gm.reg_covar, "diag")
    assert np.allclose(new.weights.numpy(), w / w.sum())
    assert np.allclose(new.means.numpy(), mu) and np.allclose(new.variances.numpy(), cov)
    assert float(nll(torch.tensor(x), p, "mean")) == pytest.approx(-gm.score(x))


def test_empty_component_warns_and_keeps_previous():
    x = torch.tensor(data())
    prev = init_from_labels(x, torch.tensor([0] * 40 + [1] * 30 + [2] * 30), 3)
    resp = torch.zeros(100, 3)
    resp[:, 0] = 1.0
    with pytest.warns(RuntimeWarning, match="received no responsibility"):
        p = m_step(x, resp, prev)
    assert torch.equal(p.means[2], prev.means[2]) and torch.isfinite(p.variances).all()
    assert float(p.weights[2]) < 1e-6


def test_nll_is_differentiable_and_reduction_checked():
    x = torch.tensor(data(), requires_grad=True)
    p = init_from_labels(x.detach(), torch.tensor([0] * 60 + [1] * 40), 2)
    nll(x, p).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="reduction must be 'sum' or 'mean'"):
        nll(x, p, "max")


def test_float32_m_step_variance_is_stable_far_from_the_origin():
    # a component of spread 1e-2 centred at 1e3, in float32 as the joint loop runs it: the
    # one-pass E[h^2] - mu^2 loses every digit (float32 resolves ~6e-2 at 1e6); the
    # two-pass form keeps the float64 answer
    rng = np.random.default_rng(0)
    h64 = 1000.0 + 0.01 * rng.standard_normal((500, 4))
    resp = torch.ones(500, 1, dtype=torch.float32)
    got = m_step(torch.tensor(h64, dtype=torch.float32), resp, reg_covar=1e-12).variances
    want = torch.tensor(h64.var(0), dtype=torch.float32)
    torch.testing.assert_close(got[0], want, rtol=2e-2, atol=0.0)


def test_float32_m_step_variances_of_distant_tight_components():
    # two components of spread 1e-2, 1e3 apart, in float32: the shifted float64 sums lose
    # ~10 of 16 digits to the distance and keep the variances to 1e-6 and better
    rng = np.random.default_rng(1)
    h64 = np.concatenate([0.01 * rng.standard_normal((400, 3)),
                          1000.0 + 0.01 * rng.standard_normal((600, 3))])
    h32 = h64.astype(np.float32)
    resp = torch.zeros(1000, 2)
    resp[:400, 0] = 1.0
    resp[400:, 1] = 1.0
    got = m_step(torch.tensor(h32), resp, reg_covar=1e-12)
    want_var = np.stack([h32[:400].astype(np.float64).var(0), h32[400:].astype(np.float64).var(0)])
    want_mean = np.stack([h32[:400].astype(np.float64).mean(0), h32[400:].astype(np.float64).mean(0)])
    assert got.variances.dtype == torch.float32
    np.testing.assert_allclose(got.variances.numpy(), want_var, rtol=1e-4)
    np.testing.assert_allclose(got.means.numpy(), want_mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.weights.numpy(), [0.4, 0.6], rtol=1e-6)


def test_m_step_blocks_sum_like_one_block():
    # more rows than one block of the float64 sums (2^21 / D rows): same statistics
    rng = np.random.default_rng(2)
    h = torch.tensor(rng.standard_normal((20_000, 256)))
    resp = torch.softmax(torch.tensor(rng.standard_normal((20_000, 3))), 1)
    got = m_step(h, resp)
    nk = resp.sum(0)
    means = (resp.T @ h) / nk[:, None]
    var = torch.stack([resp[:, k] @ (h - means[k]).square() for k in range(3)]) / nk[:, None]
    torch.testing.assert_close(got.means, means, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got.variances, var + 1e-6, rtol=1e-10, atol=1e-12)


def test_log_gaussian_blocks_match_the_direct_formula():
    # more rows than one block of h * h (2^21 / D rows = 8,192 at D = 256), the last one
    # short: every row as the direct (N, K, D) formula gives it
    rng = np.random.default_rng(3)
    h = torch.tensor(rng.standard_normal((20_000, 256)))
    means = torch.tensor(rng.standard_normal((3, 256)))
    var = torch.tensor(rng.uniform(0.5, 2.0, (3, 256)))
    got = log_gaussian(h, means, var)
    want = -0.5 * ((h[:, None, :] - means) ** 2 / var + torch.log(2 * np.pi * var)).sum(2)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-9)


def test_em_log_likelihood_never_decreases():
    x = torch.tensor(data(), dtype=torch.float64)
    params = init_from_labels(x, torch.tensor(np.r_[np.zeros(50), np.ones(50)]).long(), 2)
    previous = -np.inf
    for _ in range(30):
        resp, log_norm = e_step(x, params)
        current = float(log_norm.sum())
        assert current >= previous - 1e-9
        previous = current
        params = m_step(x, resp, params)


def test_empty_components_warn_with_their_own_category():
    from graphclust.mixture import EmptyComponentWarning

    x = torch.tensor(data())
    resp = torch.zeros(100, 3, dtype=torch.float64)
    resp[:, :2] = 0.5
    with pytest.warns(EmptyComponentWarning, match="1 mixture component"):
        m_step(x, resp)
