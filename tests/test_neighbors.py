import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from graphclust.neighbors import knn_graph


def test_matches_sklearn_neighbours():
    rng = np.random.default_rng(0)
    x = rng.random((200, 5))
    a = knn_graph(x, 4, metric="heat", block_size=37)
    nn = NearestNeighbors(n_neighbors=5).fit(x)
    idx = nn.kneighbors(x, return_distance=False)[:, 1:]
    for i in range(200):
        assert set(idx[i]) <= set(a[i].indices)
    assert (a != a.T).nnz == 0 and a.diagonal().sum() == 0


def test_mutual_is_subset_and_weights():
    rng = np.random.default_rng(1)
    x = rng.random((100, 8))
    union = knn_graph(x, 5)
    mutual = knn_graph(x, 5, mutual=True)
    assert mutual.nnz < union.nnz and (mutual.multiply(union) != mutual).nnz == 0
    w = knn_graph(x, 5, metric="heat", weighted=True)
    assert 0 < w.data.min() and w.data.max() <= 1


def test_bad_k():
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, N-1\]"):
        knn_graph(np.ones((3, 2)), 3)
    with pytest.raises(ValueError, match="metric must be"):
        knn_graph(np.ones((3, 2)), 1, metric="l1")
