"""The CUDA paths: every method fits with ``device="cuda"``, and the sparse kernels, the
mini-batch products and the mixture give on the GPU what they give on the CPU. Skipped
without CUDA (CI has none); ``benchmarks/gpu_check.sh`` runs them on a GPU machine."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust import make_csbm
from graphclust.methods import METHODS
from graphclust.mixture import e_step, init_from_labels, m_step
from graphclust.nn.sparse import BatchPropagation, FixedMatrix

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def graph():
    return make_csbm(n_nodes=150, n_classes=3, avg_degree=6, homophily=0.9, n_features=12,
                     feature_signal=1.0, random_state=0)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_fits_on_cuda(name, graph):
    cls = METHODS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(n_clusters=3, random_state=0, device="cuda", **cls.get_test_params())
        model.fit(graph)
    assert model.labels_.shape == (graph.n_nodes,)
    assert model.labels_.min() >= 0 and model.labels_.max() < 3


@pytest.mark.parametrize("cls", ["gmim", "dgi"])
def test_minibatch_fits_on_cuda(cls, graph):
    est = METHODS[cls](n_clusters=3, random_state=0, device="cuda", batch_size=64,
                       **METHODS[cls].get_test_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(graph)
    assert est.embedding_.shape[0] == graph.n_nodes


def test_fixed_sparse_product_and_gradient_match_the_cpu():
    gen = torch.Generator().manual_seed(0)
    dense = torch.rand(40, 30, generator=gen)
    dense[dense < 0.8] = 0
    b = torch.randn(30, 8, generator=gen)
    g = torch.randn(40, 8, generator=gen)
    out = {}
    for dev in ("cpu", "cuda"):
        m = FixedMatrix(dense.to_sparse_csr().to(dev))
        bb = b.to(dev).requires_grad_(True)
        res = m @ bb
        (grad,) = torch.autograd.grad(res, bb, g.to(dev))
        out[dev] = (res.detach().cpu(), grad.cpu())
    for a, c in zip(out["cpu"], out["cuda"]):
        torch.testing.assert_close(a, c, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["rows", "project"])
def test_batch_products_match_the_cpu(mode):
    rng = np.random.default_rng(0)
    s = sp.random(50, 50, density=0.1, format="csr", random_state=1, dtype=np.float32)
    x = sp.random(50, 20, density=0.2, format="csr", random_state=2, dtype=np.float32)
    w = torch.randn(20, 6)
    idx = rng.choice(50, 16, replace=False)
    perm = rng.permutation(50)
    got = {}
    for dev in ("cpu", "cuda"):
        prop = BatchPropagation(s, x, None, torch.device(dev), 16, mode=mode)
        prop.set_corruption(perm)
        ww = w.to(dev).requires_grad_(True)
        z, zn = prop.products(idx, ww)
        (grad,) = torch.autograd.grad(z.sum() + 2 * zn.sum(), ww)
        got[dev] = (z.detach().cpu(), zn.detach().cpu(), grad.cpu())
    for a, c in zip(got["cpu"], got["cuda"]):
        torch.testing.assert_close(a, c, rtol=1e-4, atol=1e-5)


def test_mixture_steps_match_the_cpu():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(300, 5, generator=gen, dtype=torch.float64)
    labels = torch.arange(300) % 4
    res = {}
    for dev in ("cpu", "cuda"):
        hh = h.to(dev)
        params = init_from_labels(hh, labels.to(dev), 4)
        resp, _ = e_step(hh, params)
        new = m_step(hh, resp, params)
        res[dev] = [t.cpu() for t in (resp, new.weights, new.means, new.variances)]
    for a, c in zip(res["cpu"], res["cuda"]):
        torch.testing.assert_close(a, c)
