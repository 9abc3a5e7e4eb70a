import numpy as np
import pytest
import scipy.sparse as sp

from graphclust.diffusion import (
    dense_guard,
    gcn_norm,
    have_numba,
    ppr_exact,
    ppr_lowrank_residual,
    ppr_push,
    ppr_row_mass,
    ppr_topk,
)


def triangle_plus_tail():
    a = np.zeros((5, 5))
    for i, j in [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4)]:
        a[i, j] = a[j, i] = 1
    return sp.csr_matrix(a)


def test_gcn_norm_by_hand():
    a = sp.csr_matrix(np.array([[0, 1], [1, 0]], dtype=float))
    # A + I = all ones, degrees 2 -> every entry 1/2
    assert np.allclose(gcn_norm(a).toarray(), 0.5)
    iso = sp.csr_matrix((3, 3))
    assert np.allclose(gcn_norm(iso).toarray(), np.eye(3))
    assert np.allclose(gcn_norm(iso, add_loops=False).toarray(), 0)


def test_exact_ppr_equals_closed_form_and_series():
    a = triangle_plus_tail()
    alpha = 0.2
    t = gcn_norm(a).toarray()
    closed = alpha * np.linalg.inv(np.eye(5) - (1 - alpha) * t)
    s = ppr_exact(a, alpha)
    assert np.allclose(s, closed, atol=1e-6)
    series = sum(alpha * (1 - alpha) ** k * np.linalg.matrix_power(t, k) for k in range(300))
    assert np.allclose(s, series, atol=1e-5)
    assert np.allclose(s, s.T, atol=1e-6)


def test_sparse_ppr_converges_to_exact():
    rng = np.random.default_rng(0)
    a = sp.random(60, 60, density=0.08, random_state=1, data_rvs=lambda n: rng.random(n) + 0.5)
    exact = ppr_exact(a, 0.15)
    errs = [np.abs(ppr_topk(a, 0.15, k=None, eps=eps, block_size=17).toarray() - exact).max()
            for eps in (1e-2, 1e-4, 1e-7)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-5
    top = ppr_topk(a, 0.15, k=5, eps=1e-7)
    assert np.diff(top.indptr).max() <= 5
    row = exact[3]
    assert set(top[3].indices) == set(np.argsort(row)[-5:])
    full = ppr_topk(a, 0.15, k=60, eps=1e-9)
    assert np.abs(full.toarray() - exact).max() < 1e-6


def test_row_mass_and_keep_mass_match_exact_row_sums():
    rng = np.random.default_rng(0)
    a = sp.random(60, 60, density=0.08, random_state=1, data_rvs=lambda n: rng.random(n) + 0.5)
    exact = ppr_exact(a, 0.15)
    want = exact.sum(1)
    assert np.allclose(ppr_row_mass(a, 0.15), want, atol=1e-6)
    plain = ppr_topk(a, 0.15, k=5, eps=1e-7)
    kept = ppr_topk(a, 0.15, k=5, eps=1e-7, keep_mass=True)
    # the cut loses mass unless it is given back; the kept entries and their ratios stay
    assert (np.asarray(plain.sum(1)).ravel() < want - 1e-3).any()
    assert np.allclose(np.asarray(kept.sum(1)).ravel(), want, atol=1e-5)
    assert np.array_equal(kept.indices, plain.indices)
    ratio = kept.data / plain.data
    rows = np.repeat(np.arange(60), np.diff(kept.indptr))
    assert np.allclose(ratio, (want / np.asarray(plain.sum(1)).ravel())[rows], rtol=1e-5)
    with pytest.warns(RuntimeWarning, match=r"stopped after max_iter=3 terms .* raise max_iter"):
        ppr_row_mass(a, 0.15, max_iter=3)
    # nothing cut, nothing to give back
    full = ppr_topk(a, 0.15, k=60, eps=1e-9, keep_mass=True)
    assert np.abs(full.toarray() - exact).max() < 1e-5


def test_lowrank_residual_matches_the_truncated_svd_of_what_the_cut_drops():
    rng = np.random.default_rng(0)
    a = sp.random(60, 60, density=0.08, random_state=1, data_rvs=lambda n: rng.random(n) + 0.5)
    exact = ppr_exact(a, 0.15).astype(np.float64)
    top = ppr_topk(a, 0.15, k=5, eps=1e-9)
    resid = exact - top.toarray()
    # full rank: U V is the residual itself, so S_k + U V is the exact S
    u, v = ppr_lowrank_residual(a, top, 0.15, rank=60)
    assert u.shape == (60, 60) and v.shape == (60, 60)
    assert np.abs(top.toarray() + u @ v - exact).max() < 1e-5
    # rank 4: as close as the best rank-4 approximation (Eckart-Young), up to 2%
    u, v = ppr_lowrank_residual(a, top, 0.15, rank=4)
    assert u.shape == (60, 4) and v.shape == (4, 60)
    sing = np.linalg.svd(resid, compute_uv=False)
    best = np.sqrt((sing[4:] ** 2).sum())
    got = np.linalg.norm(resid - u @ v)
    assert best <= got + 1e-6 and got < 1.02 * best
    assert got < 0.5 * np.linalg.norm(resid)
    # the same random_state gives the same factors
    u2, v2 = ppr_lowrank_residual(a, top, 0.15, rank=4)
    assert np.array_equal(u, u2) and np.array_equal(v, v2)
    with pytest.warns(RuntimeWarning, match=r"ppr_lowrank_residual stopped after max_iter=2"):
        ppr_lowrank_residual(a, top, 0.15, rank=4, max_iter=2)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"alpha \(teleport probability\) must lie in \(0, 1\)"):
        ppr_exact(triangle_plus_tail(), 1.5)
    with pytest.raises(ValueError, match="k must be a positive integer or None"):
        ppr_topk(triangle_plus_tail(), k=0)
    with pytest.raises(MemoryError, match=r"about 120\.0 GB .* use the sparse top-k"):
        dense_guard(10**5, "exact PPR", 4.0, copies=3)
    with pytest.raises(ValueError, match="rank must be a positive integer but got 0"):
        ppr_lowrank_residual(triangle_plus_tail(), sp.eye(5), rank=0)
    with pytest.raises(ValueError, match=r"s_topk must be the \(5, 5\) top-k PPR .* shape \(4, 4\)"):
        ppr_lowrank_residual(triangle_plus_tail(), sp.eye(4), rank=2)


def _weighted_graph():
    rng = np.random.default_rng(0)
    return sp.random(60, 60, density=0.08, random_state=1, data_rvs=lambda n: rng.random(n) + 0.5)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=pytest.mark.skipif(
    not have_numba(), reason="numba not installed"))])
def test_push_ppr_converges_to_exact_weighted(compiled):
    a = _weighted_graph()
    exact = ppr_exact(a, 0.15)
    errs = [np.abs(ppr_push(a, 0.15, k=60, eps=eps, compiled=compiled, n_chunks=7).toarray()
                   - exact).max() for eps in (1e-2, 1e-4, 1e-7)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-5
    # ACL: every residual ends below eps d_u, so no entry is off by more than ~eps d
    assert errs[1] < 1e-4 * 20
    top = ppr_push(a, 0.15, k=5, eps=1e-8, compiled=compiled)
    assert np.diff(top.indptr).max() == 5 and top.has_sorted_indices
    for i in (0, 3, 17):
        assert set(top[i].indices) == set(np.argsort(exact[i])[-5:])
        assert np.allclose(top[i].data, exact[i, top[i].indices], atol=1e-6)
    cut = ppr_push(a, 0.15, k=60, eps=1e-8, threshold=0.01, compiled=compiled)
    assert cut.data.min() >= 0.01 and cut.nnz == (exact >= 0.01 + 1e-6).sum()


def test_push_ppr_hand_graph_and_isolated_node():
    # path 0-1 plus an isolated node 2: S's row of an isolated node is alpha/(1-(1-alpha)) = 1
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    s = ppr_push(a, 0.2, k=3, eps=1e-10, compiled=False).toarray()
    assert np.allclose(s, ppr_exact(a, 0.2), atol=1e-7)
    assert np.isclose(s[2, 2], 1.0) and s[2, :2].sum() == 0


@pytest.mark.skipif(not have_numba(), reason="numba not installed")
def test_push_compiled_equals_plain_python():
    a = _weighted_graph()
    one = ppr_push(a, 0.2, k=8, eps=1e-5, compiled=False)
    two = ppr_push(a, 0.2, k=8, eps=1e-5, compiled=True, n_chunks=3)
    assert np.array_equal(one.indptr, two.indptr) and np.array_equal(one.indices, two.indices)
    assert np.allclose(one.data, two.data, rtol=1e-6)


def test_ppr_topk_method_choice():
    a = _weighted_graph()
    exact = ppr_exact(a, 0.15)
    for method in ("push", "power"):
        s = ppr_topk(a, 0.15, k=60, eps=1e-8, method=method)
        assert np.abs(s.toarray() - exact).max() < 1e-5
    # auto: the power iteration below PUSH_MIN_NODES
    from graphclust.diffusion import PUSH_MIN_NODES
    assert a.shape[0] < PUSH_MIN_NODES
    auto = ppr_topk(a, 0.15, k=5, eps=1e-4)
    power = ppr_topk(a, 0.15, k=5, eps=1e-4, method="power")
    assert (auto != power).nnz == 0
    with pytest.raises(ValueError, match=r"method must be one of \('auto', 'push', 'power'\)"):
        ppr_topk(a, method="fast")
    with pytest.raises(ValueError, match=r"method='push' needs a k .* got k=None"):
        ppr_topk(a, k=None, method="push")
    with pytest.raises(ValueError, match="k must be a positive integer but got 0"):
        ppr_push(a, k=0)
    with pytest.raises(ValueError, match="eps must be > 0 but got -1"):
        ppr_push(a, eps=-1)
