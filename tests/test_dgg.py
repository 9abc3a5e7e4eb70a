"""DGG's maths alone (hand-made values, the naive pair sum) and the estimator's edge cases."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust import DGG, Graph, VaDE
from graphclust.methods.dgg import affinity_weights, pair_matrix, pair_targets, sample_neighbors
from graphclust.mixture import MixtureParams
from graphclust.nn.contrastive import siamese_hinge_loss
from graphclust.nn.vae import (
    Classifier,
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
    mixture_elbo,
)


def _pairs(n=6, s=2, seed=0):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), s)
    cols = np.concatenate([rng.choice(np.delete(np.arange(n), i), s, replace=False)
                           for i in range(n)])
    w = rng.random(n * s).astype(np.float32)
    w /= np.bincount(rows, w)[rows]
    return rows, cols, w


def test_pair_matrix_rows_sum_to_one_with_half_on_the_diagonal():
    rows, cols, w = _pairs()
    v = pair_matrix(6, rows, cols, w).toarray()
    np.testing.assert_allclose(v.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.diag(v), 0.5)
    # a sample without neighbours keeps its own term whole (N_s = 0 is VaDE's objective)
    v0 = pair_matrix(3, np.array([0]), np.array([1]), np.array([1.0])).toarray()
    np.testing.assert_allclose(v0, [[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]])


def test_pair_targets_collapse_the_pair_sum_of_both_likelihoods():
    rows, cols, w = _pairs(n=7, s=3, seed=1)
    v = pair_matrix(7, rows, cols, w)
    rng = np.random.default_rng(2)
    x = rng.random((7, 5)).astype(np.float32)
    out = torch.as_tensor(rng.normal(size=(7, 5)).astype(np.float32))  # decoder output of each j
    c, xbar, const = pair_targets(v, x)
    vd = v.toarray()
    xt = torch.as_tensor(x)
    for j in range(7):
        ber = sum(vd[i, j] * float(bernoulli_log_likelihood(xt[i:i + 1], out[j:j + 1]))
                  for i in range(7))
        gau = sum(vd[i, j] * float(gaussian_log_likelihood(xt[i:i + 1], out[j:j + 1]))
                  for i in range(7))
        xb = torch.as_tensor(xbar[j:j + 1])
        assert c[j] * float(bernoulli_log_likelihood(xb, out[j:j + 1])) == pytest.approx(ber, rel=1e-5)
        assert (c[j] * float(gaussian_log_likelihood(xb, out[j:j + 1])) + const[j]
                == pytest.approx(gau, rel=1e-5))
    assert c.sum() == pytest.approx(7, rel=1e-6)


def test_collapsed_objective_equals_the_naive_sum_over_pairs():
    """sum_{i,j} v_ij L(x_i, x_j) with one z_j per input j, computed pair by pair."""
    n, m, k, d = 6, 3, 4, 5
    rows, cols, w = _pairs(n=n, s=2, seed=3)
    v = pair_matrix(n, rows, cols, w)
    vd = v.toarray()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, d, generator=g)
    mu, logvar = torch.randn(n, m, generator=g), torch.randn(n, m, generator=g) * 0.3
    logits = torch.randn(n, d, generator=g)  # decoder output at z_j
    log_gamma = torch.log_softmax(torch.randn(n, k, generator=g), 1)
    params = MixtureParams(torch.softmax(torch.randn(k, generator=g), 0),
                           torch.randn(k, m, generator=g), torch.rand(k, m, generator=g) + 0.5)
    log_pi = torch.log_softmax(torch.randn(n, k, generator=g), 1)  # per-sample pi_i
    naive = 0.0
    for i in range(n):
        for j in range(n):
            if vd[i, j] == 0:
                continue
            lik = bernoulli_log_likelihood(x[i:i + 1], logits[j:j + 1])
            term = mixture_elbo(lik, mu[j:j + 1], logvar[j:j + 1], log_gamma[j:j + 1], params,
                                log_pi[i])
            naive += vd[i, j] * float(term)
    c, xbar, _ = pair_targets(v, x.numpy())
    collapsed = mixture_elbo(
        bernoulli_log_likelihood(torch.as_tensor(xbar), logits), mu, logvar, log_gamma, params,
        torch.as_tensor(vd.T, dtype=torch.float32) @ log_pi, torch.as_tensor(c))
    assert float(collapsed.sum()) == pytest.approx(naive, rel=1e-5)


def test_affinity_weights_hand_values():
    d2 = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    np.testing.assert_allclose(affinity_weights(d2, "uniform"), 0.5)
    # row 0: s^2 = 2, weights exp(-1/4), exp(-3/4) normalised
    e = np.exp([-0.25, -0.75])
    np.testing.assert_allclose(affinity_weights(d2, "gaussian")[0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(affinity_weights(d2, "gaussian")[1], 0.5)


def test_sample_neighbors_draws_distinct_candidates():
    cand = torch.arange(40).reshape(4, 10)
    picked = sample_neighbors(cand, 6, torch.Generator().manual_seed(0))
    assert picked.shape == (4, 6)
    for row, c in zip(picked, cand):
        assert len(set(row.tolist())) == 6 and set(row.tolist()) <= set(c.tolist())


def test_siamese_hinge_loss_and_classifier():
    loss = siamese_hinge_loss(torch.tensor([1.0, 0.0]), torch.tensor([4.0, 1.0]), margin=3.0)
    assert float(loss) == pytest.approx((1 + 0 + 0 + 2) / 4)
    f2 = Classifier(10, 4, (6,))
    out = f2(torch.randn(5, 10))
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.exp().sum(1).detach(), 1, rtol=1e-6)


def _blobs(n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    x = (rng.normal(size=(3, 12))[y] * 3 + rng.normal(size=(n, 12))).astype(np.float32)
    return Graph(x, sp.csr_matrix((n, n)), labels=y)


SMALL = dict(widths=(16, 16, 4), pretrain_epochs=5, n_epochs=5, batch_size=64, n_init=1,
             pretrain_min_steps=0)


def test_no_neighbours_with_vade_choices_is_vade_exactly():
    g = _blobs()
    a = VaDE(3, random_state=3, **SMALL).fit(g)
    b = DGG(3, random_state=3, n_neighbors=0, assignment="posterior", mixture_weights="global",
            **SMALL).fit(g)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_["joint/elbo"] == b.history_["joint/elbo"]


@pytest.mark.parametrize("space", ["siamese", "code", "input", "graph"])
def test_every_neighbour_space_fits(space):
    g = _blobs()
    if space == "graph":
        from graphclust.neighbors import knn_graph
        g = g.with_adjacency(knn_graph(g.features, 5))
    m = DGG(3, random_state=0, n_neighbors=4, n_candidates=8, neighbor_space=space,
            siamese_epochs=2, classifier_epochs=5, **SMALL).fit(g)
    assert m.labels_.shape == (g.n_nodes,) and m.neighbor_graph_.shape == (g.n_nodes,) * 2
    np.testing.assert_allclose(np.asarray(m.neighbor_graph_.sum(1)).ravel(), 1, rtol=1e-5)
    assert m.weights_.sum() == pytest.approx(1, rel=1e-5)
    assert 0 <= m.classifier_agreement_ <= 1


def test_bad_settings_say_what_to_change():
    g = _blobs(60)
    with pytest.raises(ValueError, match=r"n_neighbors \(30\) are drawn from the n_candidates"):
        DGG(3, n_neighbors=30, n_candidates=20).fit(g)
    with pytest.raises(ValueError, match="n_candidates must be below the number of samples"):
        DGG(3, n_candidates=60).fit(g)
    with pytest.raises(ValueError, match="neighbor_space='graph' needs edges"):
        DGG(3, neighbor_space="graph", n_neighbors=5, n_candidates=10).fit(g)
    with pytest.raises(ValueError, match="classifier_hidden must list positive ints"):
        DGG(3, classifier_hidden=(0,), n_candidates=10, n_neighbors=5).fit(g)
    with pytest.raises(ValueError, match="neighbor_space must be one of"):
        DGG(3, neighbor_space="umap").fit(g)
    with pytest.raises(ValueError, match="siamese_positives must be below"):
        DGG(3, siamese_positives=60, n_candidates=10, n_neighbors=5).fit(g)


def test_autoencoder_gmm_baseline_is_vades_start():
    from graphclust.methods import AutoencoderClusters

    g = _blobs()
    start = VaDE(3, random_state=5, **SMALL).fit(g).pretrain_labels_
    base = AutoencoderClusters(3, random_state=5, cluster="gmm", **{
        k: v for k, v in SMALL.items() if k != "n_epochs"}).fit(g)
    np.testing.assert_array_equal(base.labels_, start)
    km = AutoencoderClusters(3, random_state=5, cluster="kmeans", widths=(16, 16, 4),
                             pretrain_epochs=5, batch_size=64, pretrain_min_steps=0).fit(g)
    assert km.labels_.shape == (g.n_nodes,) and km.embedding_.shape == (g.n_nodes, 4)
    # one fit keeps both label sets, whatever ``cluster`` picks (the bench's label_only)
    np.testing.assert_array_equal(base.gmm_labels_, base.labels_)
    np.testing.assert_array_equal(km.kmeans_labels_, km.labels_)
    km_as_gmm = AutoencoderClusters(3, random_state=5, cluster="gmm", widths=(16, 16, 4),
                                    pretrain_epochs=5, batch_size=64, pretrain_min_steps=0).fit(g)
    np.testing.assert_array_equal(km_as_gmm.kmeans_labels_, km.labels_)
    assert not hasattr(km_as_gmm, "umap_gmm_labels_")


def test_umap_baseline_needs_its_extra_or_runs():
    from graphclust.methods import AutoencoderClusters

    g = _blobs(90)
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install umap-learn"):
            AutoencoderClusters(3, cluster="umap-gmm").fit(g)
        return
    m = AutoencoderClusters(3, random_state=0, cluster="umap-gmm", widths=(16, 16, 4),
                            pretrain_epochs=5, batch_size=32, umap_neighbors=10, n_init=1,
                            pretrain_min_steps=0).fit(g)
    assert m.reduced_.shape == (90, 3) and m.labels_.shape == (90,)
    np.testing.assert_array_equal(m.umap_gmm_labels_, m.labels_)
    assert m.kmeans_labels_.shape == m.gmm_labels_.shape == (90,)


def test_mixture_from_labels_hand_values_and_empty_cluster():
    from graphclust.methods.dgg import mixture_from_labels

    codes = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 4.0], [10.0, 6.0]])
    w, mu, var = mixture_from_labels(codes, np.array([0, 0, 1, 1]), 3, 0.0)
    np.testing.assert_allclose(w, np.array([2, 2, 1]) / 5)
    np.testing.assert_allclose(mu[:2], [[1, 0], [10, 5]])
    np.testing.assert_allclose(var[:2], [[2, 0], [0, 2]])  # unbiased
    np.testing.assert_allclose(mu[2], codes.mean(0))       # the empty one: overall moments


def test_spectral_start_reads_the_neighbour_graph():
    g = _blobs()
    m = DGG(3, random_state=0, n_neighbors=5, n_candidates=10, neighbor_space="input",
            start="spectral", classifier_epochs=20, **SMALL).fit(g)
    from graphclust import evaluate

    assert evaluate(g.labels, m.pretrain_labels_)["acc"] > 0.95  # blobs: the graph splits them
    with pytest.raises(ValueError, match="start must be one of 'auto', 'gmm', 'spectral', 'umap'"):
        DGG(3, start="kmeans").fit(g)


def test_umap_start_is_the_n2d_labels_or_names_its_extra():
    """start='umap': the pseudo-labels are N2D's (the `ae` baseline's on the same AE)."""
    from graphclust.methods import AutoencoderClusters

    g = _blobs(90)
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"start='umap' needs the optional extra "
                                              r"umap-learn: pip install umap-learn"):
            DGG(3, start="umap").fit(g)
        return
    ae = dict(widths=(16, 16, 4), pretrain_epochs=5, batch_size=32, pretrain_min_steps=0)
    m = DGG(3, random_state=0, start="umap", umap_neighbors=10, n_neighbors=5, n_candidates=10,
            neighbor_space="input", n_epochs=2, classifier_epochs=2, **ae).fit(g)
    from graphclust.methods.ae_cluster import umap_gmm_labels

    codes = AutoencoderClusters(3, random_state=0, **ae).fit(g).embedding_
    assert m.pretrain_labels_.shape == (90,) and len(np.unique(m.pretrain_labels_)) == 3
    labels, points, _ = umap_gmm_labels(codes, 3, n_neighbors=10, n_init=1, seed=1)
    assert points.shape == (90, 3) and labels.shape == (90,)


def test_dgg_separates_half_moons_where_vade_does_not():
    """DGG's Fig. 1 in small: the neighbour graph carries the two moons, a Gaussian mixture
    of the 2-D codes cannot (settings of benchmarks/dgg_moons.py, 600 points a moon)."""
    import sys
    from pathlib import Path

    from graphclust import evaluate
    from graphclust.datasets.synthetic import make_moons

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from dgg_moons import DGG_ONLY, SHARED

    g = make_moons(600, noise=0.05, gap=0.3, random_state=0)
    from graphclust.methods.vade import CollapseWarning

    with pytest.warns(CollapseWarning):  # VaDE ends with one cluster, and says so
        vade = VaDE(2, random_state=0, **SHARED).fit(g)
    dgg = DGG(2, random_state=0, **SHARED, **DGG_ONLY).fit(g)
    acc_vade = evaluate(g.labels, vade.labels_)["acc"]
    acc_dgg = evaluate(g.labels, dgg.labels_)["acc"]
    assert acc_dgg > 0.8 and acc_dgg > acc_vade + 0.2, (acc_dgg, acc_vade)


def test_unverified_dgg_rows_fit_on_data_of_their_shape():
    """The dgg-table1-unverified rows (MNIST 70k, STL-10 features, Reuters, HHAR) build a
    valid DGG / VaDE on generated data of their width and run a few epochs."""
    from graphclust.bench import load_tables
    from graphclust.methods import METHODS

    spec = load_tables()["dgg-table1-unverified"]
    width = {"mnist": 784, "stl10-features": 2048, "reut": 2000, "hhar": 561}
    rng = np.random.default_rng(0)
    n = 120
    for row in spec["rows"]:
        for name in ([row["dataset"]] if "dataset" in row else row["datasets"]):
            x = rng.random((n, width[name])).astype(np.float32)
            g = Graph(x, sp.csr_matrix((n, n)), labels=np.arange(n) % 4, name=name)
            params = {**row.get("params", {}), "n_epochs": 2, "pretrain_epochs": 2,
                      "widths": (16, 16, 4), "n_init": 1, "pretrain_min_steps": 0}
            if row["method"] == "dgg":
                params.update(n_neighbors=5, n_candidates=10, siamese_epochs=1,
                              classifier_epochs=1)
            model = METHODS[row["method"]](4, random_state=0, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tiny runs may collapse: not what is tested
                model.fit(g)
            assert model.labels_.shape == (n,), (row["label"], name)
