import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphclust.graph import (
    Graph,
    add_self_loops,
    binarize,
    rcm_order,
    remove_self_loops,
    symmetrize,
)


def path_graph(n=4):
    a = sp.diags([np.ones(n - 1)], [1], shape=(n, n)).tocsr()
    return Graph(np.eye(n, dtype=np.float32), a, np.arange(n) % 2, "path").symmetrized()


def test_stats_of_a_path():
    g = path_graph(4)
    assert g.n_nodes == 4 and g.n_edges == 3 and g.n_features == 4 and g.n_classes == 2
    assert g.is_symmetric and g.n_self_loops == 0
    assert g.isolated_nodes().tolist() == []


def test_helpers():
    a = sp.csr_matrix(np.array([[1, 2, 0], [0, 0, 0], [0, 3, 0]], dtype=float))
    assert symmetrize(a).toarray().tolist() == [[1, 2, 0], [2, 0, 3], [0, 3, 0]]
    assert binarize(a).toarray().tolist() == [[1, 1, 0], [0, 0, 0], [0, 1, 0]]
    assert remove_self_loops(a).diagonal().tolist() == [0, 0, 0]
    assert add_self_loops(remove_self_loops(a)).diagonal().tolist() == [1, 1, 1]
    # an existing loop is replaced, not added to; off-diagonal weights and explicit zeros
    w = sp.csr_matrix((np.array([5.0, 0.0, 2.5, 7.0]), (np.array([0, 0, 1, 2]),
                                                        np.array([0, 1, 2, 0]))), shape=(3, 3))
    assert add_self_loops(w, 2.0).toarray().tolist() == [[2, 0, 0], [0, 2, 2.5], [7, 0, 2]]
    assert remove_self_loops(w).nnz == 2 and add_self_loops(w, 0.0).nnz == 2
    assert add_self_loops(w).has_sorted_indices
    g = Graph(np.ones((3, 1)), a)
    assert g.isolated_nodes().tolist() == []
    g2 = Graph(np.ones((3, 1)), sp.csr_matrix((3, 3)))
    assert g2.isolated_nodes().tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "features, adjacency, labels, match",
    [
        (np.ones((3, 2)), np.ones((3, 2)), None, "square adjacency"),
        (np.ones((2, 2)), np.ones((3, 3)), None, "Features have 2 rows but the adjacency has 3"),
        (np.array([[np.nan, 1.0]] * 3), np.ones((3, 3)), None, "NaN or inf"),
        (np.ones((3, 2)), -np.ones((3, 3)), None, "non-negative"),
        (np.ones((3, 2)), np.array([["a"] * 3] * 3), None, "numeric adjacency"),
        (np.array([["x", "y"]] * 3), np.ones((3, 3)), None, "numeric features"),
        (np.ones((3, 2)), np.ones((3, 3)), [0, 1], "Expected 3 labels"),
        (np.ones((3, 2)), np.ones((3, 3)), [0.5, 1, 2], "integer class labels"),
        (np.ones((3, 2)), np.ones((3, 3)), [0, -2, 1], "Labels must be >= 0"),
        (np.ones((0, 2)), np.ones((0, 0)), None, "at least one node"),
        (np.ones((3, 2)), np.array([[np.inf, 1, 0]] * 3), None, "Adjacency weights contain NaN"),
    ],
)
def test_bad_input_messages(features, adjacency, labels, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Graph(features, adjacency, labels)


def test_edge_index_out_of_range():
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\]"):
        Graph.from_edge_index(np.array([[0, 1], [1, 3]]), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        Graph.from_edge_index(np.array([0, 1, 2]), np.ones((3, 2)))


def test_roundtrip_pyg_networkx_scipy():
    g = path_graph(5)
    back = Graph.from_pyg(g.to_pyg())
    assert (back.adjacency != g.adjacency).nnz == 0
    assert np.array_equal(back.labels, g.labels)
    nxg = g.to_networkx()
    assert isinstance(nxg, nx.Graph) and nxg.number_of_edges() == 4
    back2 = Graph.from_networkx(nxg)
    assert (back2.adjacency != g.adjacency).nnz == 0
    a, x, y = g.to_scipy()
    assert sp.issparse(a) and x.shape == (5, 5) and y.shape == (5,)


def test_from_networkx_missing_features():
    with pytest.raises(ValueError, match="lack the feature attribute 'x'"):
        Graph.from_networkx(nx.path_graph(3))


def test_sparse_features_stay_sparse():
    g = Graph(sp.random(4, 6, density=0.5, format="csr"), np.eye(4))
    assert sp.issparse(g.features) and g.n_self_loops == 4


def test_permuted_renumbers_every_part():
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=np.float32))
    g = Graph(np.arange(6, dtype=np.float32).reshape(3, 2), a, np.array([0, 1, 2]))
    order = np.array([2, 0, 1])
    p = g.permuted(order)
    assert np.array_equal(p.labels, [2, 0, 1])
    assert np.array_equal(p.dense_features(), g.dense_features()[order])
    # edge (1, 2) of weight 2 is now (2, 0): old node 1 is new 2, old 2 is new 0
    assert p.adjacency[2, 0] == 2 and p.adjacency[0, 2] == 2 and p.adjacency[1, 2] == 1
    assert p.n_edges == g.n_edges


@pytest.mark.parametrize("order", [np.array([0, 1]), np.array([0, 0, 1]), np.array([0, 1, 3])])
def test_permuted_rejects_a_non_permutation(order):
    g = Graph(np.zeros((3, 1), np.float32), sp.eye(3, format="csr"))
    with pytest.raises(ValueError, match=r"order must be a permutation of 0..2"):
        g.permuted(order)


def test_rcm_order_narrows_the_band_of_a_shuffled_path():
    n = 200
    rng = np.random.default_rng(0)
    ids = rng.permutation(n)  # a path 0-1-2-... under random node ids
    a = sp.csr_matrix((np.ones(n - 1), (ids[:-1], ids[1:])), shape=(n, n))
    a = a + a.T
    order = rcm_order(a)
    assert np.array_equal(np.sort(order), np.arange(n))
    p = Graph(np.zeros((n, 1), np.float32), a).permuted(order).adjacency.tocoo()
    assert np.abs(p.row - p.col).max() == 1  # a path again: every edge joins neighbours
