import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from networkx.algorithms.community import modularity as nx_modularity
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from graphclust.metrics import (
    accuracy,
    ari,
    conductance,
    evaluate,
    f1_macro,
    match_clusters,
    modularity,
    nmi,
    precision_macro,
)


def test_perfect_clustering_under_permutation():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([2, 2, 0, 0, 1, 1])
    assert accuracy(y, p) == 1.0 and f1_macro(y, p) == 1.0 and precision_macro(y, p) == 1.0
    assert nmi(y, p) == pytest.approx(1.0) and ari(y, p) == pytest.approx(1.0)


def test_known_accuracy_and_f1():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0, 0, 1, 1, 1, 1])
    assert accuracy(y, p) == pytest.approx(5 / 6)
    # class 0: P=1, R=2/3 ; class 1: P=3/4, R=1
    f0, f1 = 2 * (2 / 3) / (1 + 2 / 3), 2 * 0.75 / 1.75
    assert f1_macro(y, p) == pytest.approx((f0 + f1) / 2)
    assert precision_macro(y, p) == pytest.approx((1 + 0.75) / 2)


def test_more_clusters_than_classes_counts_unmatched_as_errors():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0, 0, 2, 1, 1, 3])  # clusters 2 and 3 cannot be matched
    assert accuracy(y, p) == pytest.approx(4 / 6)
    assert match_clusters(y, p).tolist() == [0, 0, -1, 1, 1, -1]
    assert precision_macro(y, p) == 1.0


def test_fewer_clusters_than_classes():
    y = np.array([0, 1, 2, 0, 1, 2])
    p = np.zeros(6, dtype=int)
    assert accuracy(y, p) == pytest.approx(2 / 6)


def test_parity_with_sklearn_and_no_mutation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = rng.integers(0, 7, 300)
    y0, p0 = y.copy(), p.copy()
    assert nmi(y, p) == pytest.approx(normalized_mutual_info_score(y, p))
    assert ari(y, p) == pytest.approx(adjusted_rand_score(y, p))
    perm = rng.permutation(7)
    assert accuracy(y, perm[p]) == pytest.approx(accuracy(y, p))
    assert f1_macro(y, perm[p]) == pytest.approx(f1_macro(y, p))
    assert np.array_equal(y, y0) and np.array_equal(p, p0)


def test_unlabelled_nodes_are_skipped():
    y = np.array([0, 0, 1, 1, -1, -1])
    p = np.array([1, 1, 0, 0, 0, 1])
    assert accuracy(y, p) == 1.0


def test_modularity_matches_networkx_and_conductance():
    g = nx.karate_club_graph()
    a = nx.to_scipy_sparse_array(g, weight=None, format="csr")
    comms = nx.algorithms.community.greedy_modularity_communities(g)
    labels = np.zeros(g.number_of_nodes(), dtype=int)
    for c, nodes in enumerate(comms):
        labels[list(nodes)] = c
    assert modularity(a, labels) == pytest.approx(nx_modularity(g, comms, weight=None))
    # two disjoint triangles, split correctly: conductance 0, split badly: > 0
    t = sp.block_diag([np.ones((3, 3)) - np.eye(3)] * 2).tocsr()
    assert conductance(t, [0, 0, 0, 1, 1, 1]) == 0.0
    assert conductance(t, [0, 0, 1, 1, 1, 0]) > 0.0


def test_evaluate_keys_and_errors():
    y = np.array([0, 1, 0, 1])
    a = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
    out = evaluate(y, y, adjacency=a)
    assert set(out) == {"acc", "nmi", "ari", "f1", "precision", "modularity", "conductance"}
    assert set(evaluate(None, y, adjacency=a)) == {"modularity", "conductance"}
    with pytest.raises(ValueError, match="same length"):
        accuracy([0, 1], [0, 1, 2])
    with pytest.raises(TypeError, match="integer y_pred"):
        accuracy([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="Every y_true is -1"):
        accuracy([-1, -1], [0, 1])
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        modularity(np.ones((3, 3)), y)


def test_modularity_counts_a_self_loop_as_networkx_does():
    # 2 nodes, one edge and one self-loop at node 0, each node its own community:
    # m = 2, degrees (3, 1); Q = (1/2 - (3/4)^2) + (0 - (1/4)^2) = -0.125
    import networkx as nx

    a = np.array([[1.0, 1.0], [1.0, 0.0]])
    g = nx.Graph([(0, 1), (0, 0)])
    assert nx.community.modularity(g, [{0}, {1}]) == pytest.approx(-0.125)
    assert modularity(a, [0, 1]) == pytest.approx(-0.125)


@pytest.mark.parametrize("seed", range(4))
def test_modularity_and_conductance_on_weighted_graphs_with_loops_match_networkx(seed):
    import networkx as nx

    rng = np.random.default_rng(seed)
    n = 15
    w = rng.random((n, n)) * (rng.random((n, n)) < 0.3)
    w = np.maximum(w, w.T)  # symmetric, weighted, with some diagonal entries (loops)
    assert (np.diag(w) > 0).any()
    y = rng.integers(0, 3, n)
    g = nx.from_numpy_array(w)
    comms = [set(np.flatnonzero(y == c)) for c in np.unique(y)]
    assert modularity(sp.csr_matrix(w), y) == pytest.approx(
        nx.community.modularity(g, comms, weight="weight"), abs=1e-12)
    assert conductance(w, y) == pytest.approx(
        np.mean([nx.conductance(g, s, weight="weight") for s in comms]), abs=1e-12)
