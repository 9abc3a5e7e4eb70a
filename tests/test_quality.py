"""Quality bands. A generated graph whose features alone are weak (k-means on them well
below 0.6 ACC) and whose edges carry the classes: every graph method must beat k-means on
it by a wide margin, so a broken graph path fails here (the last test breaks one on
purpose). Then short real-data bands (``slow``, run in CI) with floors taken from the
committed tables in results/."""

import warnings

import numpy as np
import pytest

from graphclust import Graph, evaluate, load_dataset, make_csbm
from graphclust.methods import METHODS

#: settings for the hard graph, per graph method (every registered graph method needs one)
HARD = {
    "dgi": dict(hidden=32, pretrain_epochs=200),
    "gmim": dict(hidden=32, pretrain_epochs=200, n_epochs=30),
    "agcn": dict(widths=(64, 64, 128, 8), pretrain_epochs=30, n_epochs=40, batch_size=64),
    "spectral": {},
    # GCC and its baseline read the edges through the propagated views [X, AX, A^2 X]
    "gcc": dict(widths=(64, 64), embedding_dim=32, n_epochs=30, warmup_epochs=5, batch_size=128,
                edge_views=2, lr=0.01, min_steps=0),
    "simclr": dict(widths=(64, 64), embedding_dim=32, n_epochs=30, batch_size=128,
                   edge_views=2, min_steps=0),
}
SEEDS = (0, 1)
MARGIN = 0.25


@pytest.fixture(scope="module")
def hard():
    """3 classes, 600 nodes, degree 10, 90% of edges within a class, features with a
    mean-to-noise ratio of 0.15 (k-means on them: 0.52 ACC over seeds 0 and 1)."""
    return make_csbm(n_nodes=600, n_classes=3, avg_degree=10, homophily=0.9, n_features=50,
                     feature_signal=0.15, random_state=0)


def _mean_acc(name: str, g: Graph, **params) -> float:
    accs = []
    for seed in SEEDS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = METHODS[name](g.n_classes, random_state=seed, device="cpu", **params).fit(g)
        accs.append(evaluate(g.labels, model.labels_)["acc"])
    return float(np.mean(accs))


def test_features_alone_are_weak_on_the_hard_graph(hard):
    assert _mean_acc("kmeans", hard) < 0.55


def test_every_graph_method_has_a_hard_graph_setting():
    graph_methods = {name for name, cls in METHODS.items() if cls.uses_graph}
    assert graph_methods == set(HARD)


@pytest.mark.parametrize("name", sorted(HARD))
def test_graph_methods_beat_kmeans_by_a_wide_margin(hard, name):
    km = _mean_acc("kmeans", hard)
    assert _mean_acc(name, hard, **HARD[name]) > km + MARGIN


def test_a_broken_graph_path_fails_the_hard_graph_test(hard, monkeypatch):
    # S replaced by the identity: DGI then sees the features alone, and the bar is missed
    import scipy.sparse as sp

    from graphclust.methods import dgi

    monkeypatch.setattr(dgi, "propagation_matrix",
                        lambda a, *args, **kw: (sp.identity(a.shape[0], format="csr"), None))
    km = _mean_acc("kmeans", hard)
    assert _mean_acc("dgi", hard, **HARD["dgi"]) < km + MARGIN


# ------------------------------------------------------------------ real data (slow)
def _real(name):
    try:
        return load_dataset(name, download=False)
    except FileNotFoundError:
        pytest.skip(f"{name} is not under the data root (GRAPHCLUST_DATA)")


@pytest.mark.slow
def test_gmim_on_cora_stays_in_its_band():
    # results/gmim-table2 (10 seeds): 75.42 +- 0.38 ACC, lowest seed 74.67
    g = _real("cora")
    assert _mean_acc("gmim", g) > 0.73


@pytest.mark.slow
def test_dgi_on_cora_stays_in_its_band():
    # results/dgi-table2 (10 seeds): probe 81.72 +- 0.36 (lowest 81.1), k-means ACC lowest 66.4
    from graphclust import DGI
    from graphclust.evaluation import linear_probe

    g = _real("cora")
    probes, accs = [], []
    for seed in SEEDS:
        model = DGI(g.n_classes, random_state=seed).fit(g)
        probes.append(linear_probe(model.embedding_, g.labels, g.meta["split"]))
        accs.append(evaluate(g.labels, model.labels_)["acc"])
    assert np.mean(probes) > 0.79 and np.mean(accs) > 0.62


@pytest.mark.slow
def test_agcn_on_acm_stays_in_its_band():
    # results/agcn-table3 (10 seeds, float32): 86.25 +- 2.88 ACC, lowest seed 80.4; one
    # seed here, in bfloat16 where the CPU has it (2.5x faster, docs/methods/agcn.md)
    g = _real("acm")
    from graphclust import AGCN

    model = AGCN(g.n_classes, lambda_q=0.1, lambda_z=0.01, adj_norm="row", random_state=0,
                 mixed_precision=True).fit(g)
    assert evaluate(g.labels, model.labels_)["acc"] > 0.78
