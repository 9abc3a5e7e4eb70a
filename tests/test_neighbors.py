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


def test_faiss_and_torch_backends_agree_or_the_extra_is_named(monkeypatch):
    import sys

    from graphclust.neighbors import knn_indices

    rng = np.random.default_rng(2)
    x = rng.random((300, 6)).astype(np.float32)
    x[1] = x[0]  # a duplicate: each is the other's nearest, never its own
    ref, ref_score = knn_indices(x, 4, metric="cosine", backend="torch")
    assert ref[0, 0] == 1 and ref[1, 0] == 0
    try:
        import faiss  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install faiss-cpu"):
            knn_indices(x, 4, backend="faiss")
        return
    for metric in ("cosine", "euclidean"):
        a, sa = knn_indices(x, 4, metric=metric, backend="torch")
        b, sb = knn_indices(x, 4, metric=metric, backend="faiss")
        np.testing.assert_allclose(sa.numpy(), sb.numpy(), rtol=1e-4, atol=1e-4)
        assert (a == b).float().mean() > 0.99  # the same sets up to float ties
        assert not (b.numpy() == np.arange(300)[:, None]).any()
    monkeypatch.setitem(sys.modules, "faiss", None)  # as if not installed
    c, _ = knn_indices(x, 4, metric="cosine")  # "auto" falls back to torch
    assert (c == ref).all()
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        knn_indices(x, 4, backend="faiss")
    with pytest.raises(ValueError, match="backend must be 'auto', 'torch' or 'faiss'"):
        knn_indices(x, 4, backend="annoy")
