"""The attributed graph container shared by every loader and method.

A :class:`Graph` holds node features ``X`` (N, F) as a dense NumPy array or a SciPy
sparse matrix, an adjacency ``A`` (N, N) as CSR, optional integer labels (N,) where
``-1`` marks a node without a label (it is skipped when scoring), and a name.
Everything is validated once, here, at the boundary; methods may then trust it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # optional dependencies, imported lazily in the converters
    import networkx as nx
    from torch_geometric.data import Data

__all__ = ["Graph", "rcm_order", "symmetrize", "binarize", "add_self_loops", "remove_self_loops"]

# dense (N, F) array or SciPy sparse matrix; Any because SciPy ships no precise stubs
Features: TypeAlias = Any


def _to_csr(adjacency: Any, name: str = "adjacency") -> sp.csr_matrix:
    if sp.issparse(adjacency):
        a = sp.csr_matrix(adjacency)
    else:
        arr = np.asarray(adjacency)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise TypeError(
                f"Expected a numeric {name} (SciPy sparse or NumPy array) but got dtype "
                f"{arr.dtype}; convert it with np.asarray(..., dtype=float)."
            )
        if arr.ndim != 2:
            raise ValueError(f"Expected a 2-D {name} of shape (N, N) but got shape {arr.shape}.")
        a = sp.csr_matrix(arr)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"Expected numeric {name} weights but got dtype {a.dtype}.")
    # a read-only float32 matrix (memory-mapped files shared by the ranks of a distributed
    # run, graphclust.distributed.load_graph) is kept as it is; anything else is copied, so
    # the Graph owns its arrays
    return a.astype(np.float32, copy=a.dtype != np.float32 or a.data.flags.writeable)


def symmetrize(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """Return ``max(A, A^T)`` as CSR: every directed edge becomes undirected."""
    a = sp.csr_matrix(adjacency)
    return sp.csr_matrix(a.maximum(a.T))


def binarize(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """Return the 0/1 pattern of ``A`` (duplicates and weights > 1 collapse to 1)."""
    a = sp.csr_matrix(adjacency, copy=True)
    a.sum_duplicates()
    a.eliminate_zeros()
    a.data = np.ones_like(a.data, dtype=np.float32)
    return a.astype(np.float32)


def _off_diagonal(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """``A`` without its diagonal entries, CSR, in O(nnz) vectorised work (a LIL round trip
    costs Python objects per entry: 17 s and GBs at 1M nodes / 20M entries)."""
    a = sp.csr_matrix(adjacency, copy=True)
    a.sum_duplicates()
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    keep = (rows != a.indices) & (a.data != 0)
    counts = np.bincount(rows[keep], minlength=a.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(a.indptr.dtype)
    return sp.csr_matrix((a.data[keep], a.indices[keep], indptr), shape=a.shape)


def remove_self_loops(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """Return ``A`` with its diagonal set to zero (and removed from storage)."""
    return _off_diagonal(adjacency)


def add_self_loops(adjacency: sp.spmatrix, fill_value: float = 1.0) -> sp.csr_matrix:
    """Return ``A`` with its diagonal set to ``fill_value`` (``A + I`` for a loop-free 0/1 A)."""
    a = _off_diagonal(adjacency)
    if fill_value == 0:
        return a
    n = min(a.shape)
    out = sp.csr_matrix(a + sp.diags(np.full(n, fill_value, dtype=a.dtype), shape=a.shape,
                                     format="csr"))
    out.sort_indices()
    return out


def rcm_order(adjacency: sp.spmatrix) -> np.ndarray:
    """A node order for cache locality: reverse Cuthill-McKee (SciPy) on the symmetrised
    pattern, so that a node's neighbours get nearby numbers and the rows of an N x d block a
    sparse product gathers share cache lines and pages. Linear in edges (0.6 s on S of a
    10^5-node graph; one S @ B at 10^6 nodes 9.5 -> 7.8 s, ``benchmarks/reorder_probe.py``)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    a = _to_csr(adjacency)
    pattern = (a + a.T).tocsr()
    return np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)


@dataclass(eq=False)
class Graph:
    """An attributed graph: features (N, F), adjacency CSR (N, N), labels (N,) or None.

    Parameters
    ----------
    features : ndarray or scipy sparse matrix of shape (N, F)
        Node attributes; finite numbers. Sparse input stays sparse (CSR).
    adjacency : scipy sparse matrix or ndarray of shape (N, N)
        Edge weights; non-negative. Stored as float32 CSR. It is not symmetrised here:
        call :meth:`symmetrized` (loaders do) when the source lists one direction only.
    labels : array-like of shape (N,), optional
        Integer class per node; ``-1`` means "no label" (e.g. CiteSeer's placeholders).
    name : str, default "graph"
    meta : dict
        Free-form provenance (source files, preprocessing applied).
    """

    features: Features
    adjacency: sp.csr_matrix
    labels: np.ndarray | None = None
    name: str = "graph"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.adjacency = _to_csr(self.adjacency)
        n = self.adjacency.shape[0]
        if self.adjacency.shape[0] != self.adjacency.shape[1]:
            raise ValueError(
                f"Expected a square adjacency of shape (N, N) but got {self.adjacency.shape}; "
                "an edge list must be converted first (Graph.from_edge_index)."
            )
        if n == 0:
            raise ValueError("Expected a graph with at least one node but got N = 0.")
        if self.adjacency.nnz and not np.all(np.isfinite(self.adjacency.data)):
            raise ValueError("Adjacency weights contain NaN or inf; all weights must be finite.")
        if self.adjacency.nnz and self.adjacency.data.min() < 0:
            raise ValueError(
                f"Adjacency weights must be non-negative but the smallest is "
                f"{self.adjacency.data.min():g}; take np.abs or drop those edges."
            )
        self.features = self._check_features(self.features, n)
        if self.labels is not None:
            self.labels = self._check_labels(self.labels, n)

    @staticmethod
    def _check_features(features: Any, n: int) -> Features:
        if sp.issparse(features):
            x = sp.csr_matrix(features)
            values = x.data
        else:
            arr = np.asarray(features)
            if arr.dtype == object or not (
                np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
            ):
                raise TypeError(
                    f"Expected numeric features but got dtype {arr.dtype}; "
                    "convert them with np.asarray(..., dtype=float)."
                )
            x = arr.reshape(-1, 1) if arr.ndim == 1 else arr
            values = x
        if x.ndim != 2:
            raise ValueError(f"Expected features of shape (N, F) but got shape {x.shape}.")
        if x.shape[0] != n:
            raise ValueError(
                f"Features have {x.shape[0]} rows but the adjacency has {n} nodes; "
                "they must match one row per node."
            )
        if np.issubdtype(np.asarray(values).dtype, np.floating) and not np.all(
            np.isfinite(values)
        ):
            bad = int(np.sum(~np.isfinite(values)))
            raise ValueError(
                f"Features contain {bad} NaN or inf values; impute or drop them before "
                "building the Graph."
            )
        return x

    @staticmethod
    def _check_labels(labels: Any, n: int) -> np.ndarray:
        y = np.asarray(labels)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"Expected labels of shape (N,) but got shape {y.shape}.")
        if y.shape[0] != n:
            raise ValueError(f"Expected {n} labels (one per node) but got {y.shape[0]}.")
        if not np.issubdtype(y.dtype, np.integer):
            if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(
                y == np.round(y)
            ):
                y = y.astype(np.int64)
            else:
                raise TypeError(
                    f"Expected integer class labels but got dtype {y.dtype}; encode them "
                    "with np.unique(labels, return_inverse=True)[1]."
                )
        if y.size and y.min() < -1:
            raise ValueError(
                f"Labels must be >= 0, or -1 for 'unlabelled', but got {y.min()}."
            )
        return y.astype(np.int64)

    # ------------------------------------------------------------------ statistics
    @property
    def n_nodes(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_edges(self) -> int:
        """Distinct unordered pairs {i, j}, i != j, after symmetrising (self-loops excluded)."""
        a = sp.triu(symmetrize(binarize(self.adjacency)), k=1)
        return int(a.nnz)

    @property
    def n_self_loops(self) -> int:
        return int(np.count_nonzero(self.adjacency.diagonal()))

    @property
    def n_classes(self) -> int | None:
        if self.labels is None:
            return None
        return int(np.unique(self.labels[self.labels >= 0]).size)

    @property
    def is_symmetric(self) -> bool:
        diff = self.adjacency - self.adjacency.T
        return bool(abs(diff).sum() == 0)

    def isolated_nodes(self) -> np.ndarray:
        """Indices of nodes with no edge to another node (self-loops ignored)."""
        a = remove_self_loops(symmetrize(self.adjacency))
        return np.flatnonzero(np.diff(a.indptr) == 0)

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "self_loops": self.n_self_loops,
            "isolated": int(self.isolated_nodes().size),
            "features": self.n_features,
            "classes": self.n_classes,
            "sparse_features": bool(sp.issparse(self.features)),
        }

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"Graph(name={s['name']!r}, nodes={s['nodes']}, edges={s['edges']}, "
            f"features={s['features']}, classes={s['classes']})"
        )

    # ------------------------------------------------------------------ transforms
    def with_adjacency(self, adjacency: sp.spmatrix) -> Graph:
        return Graph(self.features, adjacency, self.labels, self.name, dict(self.meta))

    def symmetrized(self) -> Graph:
        return self.with_adjacency(symmetrize(self.adjacency))

    def binarized(self) -> Graph:
        return self.with_adjacency(binarize(self.adjacency))

    def without_self_loops(self) -> Graph:
        return self.with_adjacency(remove_self_loops(self.adjacency))

    def with_self_loops(self) -> Graph:
        return self.with_adjacency(add_self_loops(self.adjacency))

    def permuted(self, order: Any) -> Graph:
        """The same graph with its nodes renumbered: node i of the result is node
        ``order[i]`` of this one (features, adjacency and labels alike)."""
        order = np.asarray(order)
        n = self.n_nodes
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of 0..{n - 1} (shape ({n},)) but "
                             f"got an array of shape {order.shape} that is not one; build it "
                             "with np.argsort or rcm_order.")
        x = self.features[order]
        a = self.adjacency[order][:, order]
        labels = None if self.labels is None else self.labels[order]
        return Graph(x, a, labels, self.name, dict(self.meta))

    def dense_features(self) -> np.ndarray:
        x = self.features
        return np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float32)

    # ------------------------------------------------------------------ converters
    @classmethod
    def from_edge_index(
        cls,
        edge_index: Any,
        features: Any,
        labels: Any = None,
        *,
        num_nodes: int | None = None,
        edge_weight: Any = None,
        name: str = "graph",
    ) -> Graph:
        """Build a graph from a (2, E) integer array of node ids in ``[0, N)``."""
        ei = np.asarray(edge_index)
        if not sp.issparse(features):
            features = np.asarray(features)
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"Expected edge_index of shape (2, E) but got shape {ei.shape}.")
        if ei.size and not np.issubdtype(ei.dtype, np.integer):
            raise TypeError(f"Expected integer node ids in edge_index but got dtype {ei.dtype}.")
        n = int(num_nodes) if num_nodes is not None else int(features.shape[0])
        if ei.size and (ei.min() < 0 or ei.max() >= n):
            raise ValueError(
                f"edge_index holds node ids in [{ei.min()}, {ei.max()}] but the graph has "
                f"{n} nodes (ids must lie in [0, {n - 1}])."
            )
        w = np.ones(ei.shape[1], np.float32) if edge_weight is None else np.asarray(
            edge_weight, np.float32
        )
        if w.shape != (ei.shape[1],):
            raise ValueError(f"Expected {ei.shape[1]} edge weights but got shape {w.shape}.")
        a = sp.coo_matrix((w, (ei[0], ei[1])), shape=(n, n)).tocsr()
        return cls(features, a, labels, name)

    def to_edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        coo = self.adjacency.tocoo()
        return np.vstack([coo.row, coo.col]).astype(np.int64), coo.data.astype(np.float32)

    @classmethod
    def from_pyg(cls, data: Data, name: str = "graph") -> Graph:
        """From a PyTorch Geometric ``Data`` with ``x``, ``edge_index`` and optional ``y``."""
        ei = data.edge_index.cpu().numpy()
        w = None if getattr(data, "edge_weight", None) is None else data.edge_weight.cpu().numpy()
        x = data.x.cpu().numpy()
        y = None if getattr(data, "y", None) is None else data.y.cpu().numpy()
        return cls.from_edge_index(ei, x, y, num_nodes=data.num_nodes, edge_weight=w, name=name)

    def to_pyg(self) -> Data:
        import torch
        from torch_geometric.data import Data

        ei, w = self.to_edge_index()
        return Data(
            x=torch.from_numpy(self.dense_features()),
            edge_index=torch.from_numpy(ei),
            edge_weight=torch.from_numpy(w),
            y=None if self.labels is None else torch.from_numpy(self.labels),
            num_nodes=self.n_nodes,
        )

    @classmethod
    def from_networkx(
        cls, g: nx.Graph, feature_key: str = "x", label_key: str | None = "y", name: str = "graph"
    ) -> Graph:
        """From a networkx graph whose nodes carry ``feature_key`` (and ``label_key``)."""
        import networkx as nx

        nodes = list(g.nodes)
        missing = [v for v in nodes if feature_key not in g.nodes[v]]
        if missing:
            raise ValueError(
                f"{len(missing)} nodes lack the feature attribute {feature_key!r} "
                f"(first: {missing[0]!r}); set g.nodes[v][{feature_key!r}] on every node."
            )
        x = np.vstack([np.asarray(g.nodes[v][feature_key], dtype=np.float32) for v in nodes])
        a = nx.to_scipy_sparse_array(g, nodelist=nodes, weight="weight", format="csr")
        y = None
        if label_key is not None and all(label_key in g.nodes[v] for v in nodes):
            y = np.asarray([g.nodes[v][label_key] for v in nodes])
        out = cls(x, sp.csr_matrix(a), y, name)
        if not g.is_directed():
            out = out.symmetrized()
        return out

    def to_networkx(self) -> nx.Graph:
        import networkx as nx

        g = nx.from_scipy_sparse_array(symmetrize(self.adjacency))
        x = self.dense_features()
        for i in range(self.n_nodes):
            g.nodes[i]["x"] = x[i]
            if self.labels is not None:
                g.nodes[i]["y"] = int(self.labels[i])
        return g

    def to_scipy(self) -> tuple[sp.csr_matrix, Features, np.ndarray | None]:
        return self.adjacency, self.features, self.labels
