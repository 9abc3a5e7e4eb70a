import warnings

import numpy as np
import pytest
import torch

from graphclust import DGI, GMIM, evaluate, make_csbm
from graphclust.nn.gcn import _PReLU
from graphclust.nn.infomax import InfomaxModel, infomax_loss
from graphclust.nn.sparse import FixedMatrix, bag_matmul, csr_bags
from graphclust.preprocessing import row_normalize

SMALL = dict(hidden=16, n_init=2, device="cpu")


@pytest.fixture(scope="module")
def graph():
    return make_csbm(n_nodes=300, n_classes=3, avg_degree=6, homophily=0.9, n_features=20,
                     feature_signal=1.0, random_state=0)


def test_row_normalize():
    x = np.array([[1.0, 3.0], [0.0, 0.0]])
    assert np.allclose(row_normalize(x), [[0.25, 0.75], [0, 0]])


def test_fixed_sparse_matmul_gradient_matches_dense():
    gen = torch.Generator().manual_seed(0)
    dense = torch.rand(6, 5, generator=gen, dtype=torch.float64)
    dense[dense < 0.5] = 0  # a non-symmetric sparse pattern
    m = FixedMatrix(dense.to_sparse_csr())
    assert m.sparse and m.shape == (6, 5)
    b = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: m @ v, (b,))
    out = m @ b
    torch.testing.assert_close(out, dense @ b)
    g = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, b, g)
    torch.testing.assert_close(grad, dense.T @ g)


def test_fixed_sparse_addmm_with_bias_gradients_match_dense():
    gen = torch.Generator().manual_seed(1)
    dense = torch.rand(6, 5, generator=gen, dtype=torch.float64)
    dense[dense < 0.5] = 0
    m = FixedMatrix(dense.to_sparse_csr())
    b = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m.addmm, (bias, b))
    torch.testing.assert_close(m.addmm(bias, b), dense @ b + bias)
    # the dense path and the no-grad path give the same values
    torch.testing.assert_close(FixedMatrix(dense).addmm(bias, b), dense @ b + bias)
    with torch.no_grad():
        torch.testing.assert_close(m.addmm(bias, b), dense @ b + bias)


@pytest.mark.parametrize("empty", ["none", "first and last rows", "all"])
def test_bag_matmul_is_the_csr_product_with_empty_rows(empty):
    gen = torch.Generator().manual_seed(3)
    dense = torch.rand(7, 5, generator=gen)
    dense[dense < 0.5] = 0
    if empty == "first and last rows":
        dense[[0, 5, 6]] = 0  # trailing empty rows: offsets equal to nnz
    elif empty == "all":
        dense[:] = 0
    b = torch.randn(5, 4, generator=gen)
    csr = dense.to_sparse_csr()
    out = bag_matmul(csr_bags(csr), b)
    assert out.shape == (7, 4) and out.dtype == torch.float32
    torch.testing.assert_close(out, dense @ b)
    # a CPU FixedMatrix runs its products on the bags, forward and backward
    m = FixedMatrix(csr)
    assert not isinstance(m._fwd, torch.Tensor) and not isinstance(m._bwd, torch.Tensor)
    bg = b.clone().requires_grad_()
    g = torch.randn(7, 4, generator=gen)
    (grad,) = torch.autograd.grad(m @ bg, bg, g)
    torch.testing.assert_close(grad, dense.T @ g)


def test_fixed_matrix_with_low_rank_part_is_s_plus_uv():
    gen = torch.Generator().manual_seed(2)
    dense = torch.rand(6, 6, generator=gen, dtype=torch.float64)
    dense[dense < 0.6] = 0
    u = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    v = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    b = torch.randn(6, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    full = dense + u @ v
    for m in (FixedMatrix(dense.to_sparse_csr(), (u, v)), FixedMatrix(dense, (u, v))):
        torch.testing.assert_close(m.addmm(bias, b), full @ b + bias)
        torch.testing.assert_close(m @ b, full @ b)
        assert torch.autograd.gradcheck(m.addmm, (bias, b))


def test_prelu_matches_torch_and_gradcheck():
    z = torch.tensor([[-2.0, -0.5, 0.0, 0.3, 4.0]], dtype=torch.float64, requires_grad=True)
    a = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(_PReLU.apply(z, a), torch.nn.functional.prelu(z, a.reshape(1)))
    zz = torch.tensor([[-2.0, -0.5, 0.3, 4.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_PReLU.apply, (zz, a))


def test_infomax_loss_by_hand():
    pos, neg = torch.tensor([0.0, 0.0]), torch.tensor([0.0, 0.0])
    assert float(infomax_loss(pos, neg)) == pytest.approx(np.log(2))
    m = InfomaxModel(4, 3)
    x, s = FixedMatrix(torch.eye(4)), FixedMatrix(torch.eye(4))
    p, q, h = m(x, s, torch.tensor([1, 0, 3, 2]))
    assert p.shape == (4,) and q.shape == (4,) and h.shape == (4, 3)


def test_dgi_clusters_a_planted_partition(graph):
    # ppr_keep_mass only matters with diffusion="ppr": no clash with ppr_rank here
    model = DGI(3, pretrain_epochs=150, random_state=0, ppr_keep_mass=True, **SMALL).fit(graph)
    assert model.embedding_.shape == (300, 16)
    assert evaluate(graph.labels, model.labels_)["acc"] > 0.8


def test_gmim_fit_repeatable_and_fit_predict(graph):
    kw = dict(pretrain_epochs=60, n_epochs=20, omega=10.0, random_state=3, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GMIM(3, **kw).fit(graph)
        b = GMIM(3, **kw).fit_predict(graph)
    assert np.array_equal(a.labels_, b)
    assert a.predict_proba().shape == (300, 3)
    assert np.allclose(a.predict_proba().sum(1), 1)
    assert set(a.history_) >= {"pretrain/mi", "joint/mi", "joint/nll", "joint/beta"}
    assert a.history_["joint/beta"][0] == 0.0 and a.history_["joint/beta"][-1] > 0
    assert evaluate(graph.labels, a.labels_)["acc"] > 0.8


@pytest.mark.parametrize("n_epochs", [0, 3])
def test_assign_only_picks_which_labels(graph, n_epochs):
    """`assign` does not change the fit: both label sets are kept, whichever is labels_.
    (The bench's label_only scores the two ablation rows from one fit on this basis.)"""
    kw = dict(pretrain_epochs=20, n_epochs=n_epochs, omega=10.0, random_state=1, **SMALL)
    a = GMIM(3, assign="kmeans", **kw).fit(graph)
    b = GMIM(3, assign="mixture", **kw).fit(graph)
    assert np.array_equal(a.kmeans_labels_, b.kmeans_labels_)
    assert np.array_equal(a.mixture_labels_, b.mixture_labels_)
    assert np.array_equal(a.labels_, a.kmeans_labels_)
    assert np.array_equal(b.labels_, b.mixture_labels_)


def test_fit_leaves_global_rng_untouched(graph):
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    GMIM(3, pretrain_epochs=3, n_epochs=2, random_state=0, **SMALL).fit(graph)
    assert torch.equal(torch.rand(1), expected)


def test_exact_ppr_path_and_guard(graph):
    m = GMIM(3, pretrain_epochs=5, n_epochs=2, ppr_k=None, random_state=0, **SMALL).fit(graph)
    assert m.labels_.shape == (300,)
    with pytest.raises(MemoryError, match="over the max_dense_gb=1e-06 budget"):
        GMIM(3, ppr_k=None, max_dense_gb=1e-6, **SMALL).fit(graph)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_clusters=0), "n_clusters must be an integer >= 1"),
        (dict(n_clusters=500), "Expected n_nodes >= n_clusters"),
        (dict(hidden=-1), "hidden must be an integer >= 1"),
        (dict(lr=0.0), "lr must be a finite number > 0"),
        (dict(diffusion="heat"), "diffusion must be one of 'none', 'ppr' but got 'heat'"),
        (dict(nll_reduction="max"), "nll_reduction must be one of 'sum', 'mean' but got 'max'"),
        (dict(assign="dbscan"), "assign must be one of 'kmeans', 'mixture' but got 'dbscan'"),
        (dict(ppr_keep_mass="yes"), "ppr_keep_mass must be True or False but got 'yes'"),
        (dict(ppr_rank=-1), "ppr_rank must be an integer >= 0 but got -1"),
        (dict(ppr_keep_mass=True), r"ppr_keep_mass=True and ppr_rank=8 both .* use one: ppr_rank=0"),
        (dict(device="tpu"), "device must be 'auto', 'cpu' or 'cuda"),
    ],
)
def test_bad_parameters(graph, kwargs, match):
    params = dict(n_clusters=3, pretrain_epochs=2, n_epochs=1, hidden=8)
    params.update(kwargs)
    with pytest.raises(ValueError, match=match):
        GMIM(**params).fit(graph)


def test_not_a_graph_and_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(TypeError, match="Expected a graphclust.Graph but got ndarray"):
        GMIM(2).fit(np.ones((4, 2)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GMIM(2).predict_proba()


def test_linear_probe_separable_and_bad_split():
    from graphclust.evaluation import linear_probe

    z = np.vstack([np.eye(2)[[0] * 10], np.eye(2)[[1] * 10]]) + 0.01
    y = np.array([0] * 10 + [1] * 10)
    split = {"train": np.array([0, 1, 10, 11]), "test": np.arange(2, 10)}
    assert linear_probe(z, y, split) == 1.0
    with pytest.raises(ValueError, match="'test' is missing"):
        linear_probe(z, y, {"train": split["train"]})


def _inertia(h, labels):
    return sum(((h[labels == c] - h[labels == c].mean(0)) ** 2).sum() for c in np.unique(labels))


def test_final_kmeans_adds_a_start_at_the_mixture_means_and_keeps_the_lower_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 10, (10, 2))
    h = (np.repeat(centres, 15, 0) + rng.normal(0, 0.6, (150, 2))).astype(np.float32)
    model = GMIM(10, n_init=1)
    at_centres = _inertia(h, KMeans(10, init=centres.astype(np.float32), n_init=1).fit_predict(h))

    def plain(seed):  # the k-means++ run _final_kmeans makes with this generator
        rs = int(np.random.default_rng(seed).integers(2**31))
        return KMeans(10, n_init=1, random_state=rs).fit(h).inertia_

    # generator 4: the k-means++ start ends in a poor optimum, the start at the means wins
    assert plain(4) > at_centres + 5
    got = model._final_kmeans(h, centres, np.random.default_rng(4)).labels_
    assert _inertia(h, got) == pytest.approx(at_centres, rel=1e-4)
    # generator 6: k-means++ beats the start at the means and is kept
    assert plain(6) < at_centres - 1
    got = model._final_kmeans(h, centres, np.random.default_rng(6)).labels_
    assert _inertia(h, got) == pytest.approx(plain(6), rel=1e-4)
    # non-finite means (no mixture) are skipped
    got = model._final_kmeans(h, np.full((10, 2), np.nan), np.random.default_rng(4)).labels_
    assert _inertia(h, got) == pytest.approx(plain(4), rel=1e-4)


def test_propagation_variants_reach_the_encoder(graph):
    cpu = torch.device("cpu")
    _, s = GMIM(3, **SMALL)._prepare(graph, cpu, np.random.default_rng(0))
    assert s.sparse and s.low_rank is not None
    assert s.low_rank[0].shape == (300, 8) and s.low_rank[1].shape == (8, 300)
    _, s0 = GMIM(3, ppr_rank=0, ppr_keep_mass=True, **SMALL)._prepare(graph, cpu, np.random.default_rng(0))
    assert s0.low_rank is None
    # row masses S 1: the cut loses some, the rescaled cut has them exactly, S_k + U V nearly
    _, exact = GMIM(3, ppr_k=None, **SMALL)._prepare(graph, cpu, np.random.default_rng(0))
    assert not exact.sparse and exact.low_rank is None
    want = exact.s.sum(1)
    u, v = s.low_rank
    cut = s.s.to_dense().sum(1)
    assert (want - cut).max() > 0.05
    torch.testing.assert_close(s0.s.to_dense().sum(1), want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(cut + u @ v.sum(1), want, rtol=0.02, atol=0.0)
    model = GMIM(3, ppr_rank=0, ppr_keep_mass=True, pretrain_epochs=5, n_epochs=2,
                 random_state=0, **SMALL).fit(graph)
    assert model.labels_.shape == (300,)


def test_gmim_passes_other_runtime_warnings_through_unchanged(graph, monkeypatch):
    # the joint loop summarises only the mixture's own empty-component warnings; any other
    # RuntimeWarning comes out as it was issued, not relabelled as an empty component
    from graphclust.methods import gmim

    real_nll = gmim.nll

    def noisy_nll(*args, **kwargs):
        warnings.warn("overflow somewhere else", RuntimeWarning, stacklevel=2)
        return real_nll(*args, **kwargs)

    monkeypatch.setattr(gmim, "nll", noisy_nll)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GMIM(3, pretrain_epochs=3, n_epochs=2, random_state=0, **SMALL).fit(graph)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "overflow somewhere else" in messages
    assert not any("empty mixture components" in m for m in messages)


def test_gmim_warns_when_final_em_hits_its_cap(graph):
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="EM on the final embedding did not converge in "
                      "em_max_iter=1 steps"):
        m = GMIM(3, pretrain_epochs=3, n_epochs=1, em_max_iter=1, random_state=0, **SMALL).fit(graph)
    assert m.em_n_iter_ == 1 and not m.em_converged_


def test_pretraining_budget_warns_and_sets_n_iter(graph):
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="used its whole budget of 4 epochs"):
        m = DGI(3, pretrain_epochs=4, random_state=0, **SMALL).fit(graph)
    assert m.n_iter_ == 4 and m.n_iter_per_phase_ == {"pretrain": 4} and not m.converged_
    m = DGI(3, pretrain_epochs=2000, patience=5, random_state=0, **SMALL).fit(graph)
    assert m.converged_ and m.n_iter_ < 2000


def test_lowrank_residual_is_seeded_from_random_state(graph, monkeypatch):
    from graphclust import diffusion

    seen = []
    real = diffusion.ppr_lowrank_residual

    def spy(*args, **kwargs):
        seen.append(kwargs.get("random_state"))
        return real(*args, **kwargs)

    monkeypatch.setattr(diffusion, "ppr_lowrank_residual", spy)
    for seed in (1, 2, 1):
        DGI(3, diffusion="ppr", pretrain_epochs=2, random_state=seed, **SMALL).fit(graph)
    assert seen[0] != seen[1] and seen[0] == seen[2]


def test_adam_falls_back_to_the_plain_kernel_where_fused_is_missing(monkeypatch):
    from graphclust.base import make_adam

    real = torch.optim.Adam

    def old_torch_adam(params, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be CUDA tensors")
        return real(params, lr=lr)

    monkeypatch.setattr(torch.optim, "Adam", old_torch_adam)
    opt = make_adam([torch.nn.Parameter(torch.zeros(3))], 0.1)
    assert isinstance(opt, real) and not opt.defaults.get("fused")


@pytest.mark.parametrize("method", [DGI, GMIM])
def test_node_order_rcm_returns_results_in_the_given_order(method):
    """A fit on the RCM-renumbered nodes hands back per-node results in the caller's order:
    the fitted encoder applied to the graph as given (S without the seeded low-rank part, so
    the same matrix in either order) reproduces embedding_, and predict() labels_."""
    g = make_csbm(300, 3, 8, 0.9, 16, 1.0, 1)
    est = method(3, random_state=0, node_order="rcm", ppr_rank=0,
                 **method.get_test_params()).fit(g)
    np.testing.assert_allclose(est.transform(g), est.embedding_, atol=1e-4)
    assert np.array_equal(est.predict(g), est.labels_)
    assert evaluate(g.labels, est.labels_)["acc"] > 0.9
    if method is GMIM:
        assert np.array_equal(est.responsibilities_.argmax(1), est.mixture_labels_)
        assert np.array_equal(est.predict_proba(g).argmax(1), est.mixture_labels_)


def test_node_order_bad_value():
    with pytest.raises(ValueError, match=r"node_order"):
        DGI(3, node_order="degree", **DGI.get_test_params()).fit(make_csbm(60, 3, 4, 0.9, 8))
