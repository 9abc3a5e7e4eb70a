"""Attributed graphs saved whole in one of the layouts this field publishes them in, read by
path (``load_graph_file``, also ``load_dataset(path)``):

* graph ``.npz`` files, both key conventions: gnn-benchmark's (Shchur et al. 2018)
  ``adj_data``/``adj_indices``/``adj_indptr``/``adj_shape`` (+ ``attr_*`` or
  ``attr_matrix``, ``labels``) and the dotted keys of the g2g / PPNP files
  (``adj_matrix.data``/``.indices``/``.indptr``/``.shape``, ``attr_matrix.*`` or a dense
  ``attr_matrix``, ``labels``); attributes may be absent (F = 0);
* the ``<name>_adj.npy`` / ``<name>_feat.npy`` / ``<name>_label.npy`` triplets of the deep
  graph clustering survey repositories (dense adjacency, possibly with self-loops), given by
  the path of any of the three or by the prefix ``<dir>/<name>``;
* MATLAB ``.mat`` files (v5; v7.3 is HDF5) with the usual variable names: adjacency
  ``W``/``A``/``Network``/``adj``/``network``, features ``fea``/``X``/``Attributes``/
  ``features``/``x``, labels ``gnd``/``Y``/``Label``/``labels``/``y``; a file without an
  adjacency gets the k-NN graph of its features.

Every failure is a :class:`~graphclust.datasets.generic.FileFormatError` (a ``ValueError``)
that names the file: an unrecognised file lists the keys it has and the layouts accepted,
and a damaged one (cut short, bytes flipped, wrong dtypes, NaN/inf, ids out of range) says
what the reader found. Adjacencies are symmetrised and binarised and self-loops dropped,
as for the registered datasets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphclust.graph import Graph, binarize, remove_self_loops, symmetrize

from .formats import encode_labels
from .generic import FileFormatError

__all__ = ["load_graph_file", "read_graph_npz", "LAYOUTS"]

LAYOUTS = (
    "gnn-benchmark .npz (adj_data, adj_indices, adj_indptr, adj_shape [+ attr_* | "
    "attr_matrix] [+ labels])",
    "g2g/PPNP .npz (adj_matrix.data, adj_matrix.indices, adj_matrix.indptr, adj_matrix.shape "
    "[+ attr_matrix.* | attr_matrix] [+ labels])",
    "<name>_adj.npy + <name>_feat.npy [+ <name>_label.npy]",
    ".mat with an adjacency (W, A, Network, adj) and/or features (fea, X, Attributes, "
    "features) [+ labels (gnd, Y, Label, labels)]",
)
MAT_ADJ = ("W", "A", "Network", "adj", "network")
MAT_FEAT = ("fea", "X", "Attributes", "features", "x", "attributes")
MAT_LABEL = ("gnd", "Y", "Label", "labels", "y", "label")
TRIPLET = ("_adj.npy", "_feat.npy", "_label.npy")
#: what reading a damaged file can raise inside NumPy, SciPy (MatReadError and its kin
#: derive from Exception alone) and zipfile: the reading step turns any of it into a
#: FileFormatError that names the file
_READ_ERRORS = (Exception,)


def _checked(m: Any, where: Path, what: str) -> Any:
    """A sparse matrix from a file, its index arrays fully checked before any conversion:
    SciPy's C routines trust them, and a damaged file (an index past the shape, a broken
    indptr) crashed the process in ``tocsr`` instead of raising (found by the fuzz test)."""
    if sp.issparse(m):
        if not hasattr(m, "check_format"):
            m = m.tocoo()
            if m.nnz and (m.row.min() < 0 or m.col.min() < 0 or m.row.max() >= m.shape[0]
                          or m.col.max() >= m.shape[1]):
                raise FileFormatError(f"{where}: the {what} has indices outside its shape.")
            return m
        try:
            m.check_format(full_check=True)
        except (ValueError, TypeError, IndexError, OverflowError) as e:
            raise FileFormatError(f"{where}: the {what} is a damaged sparse matrix ({e}).") from None
    return m


def _unrecognised(path: Path, keys: Any) -> FileFormatError:
    return FileFormatError(
        f"{path}: not a graph file this reader knows; it holds {sorted(keys)}. Layouts "
        "accepted: " + "; ".join(LAYOUTS) + "."
    )


def _csr(f: Any, prefix: str, sep: str, path: Path) -> sp.csr_matrix:
    data, indices, indptr, size = (np.asarray(f[f"{prefix}{sep}{part}"])
                                   for part in ("data", "indices", "indptr", "shape"))
    shape = tuple(int(v) for v in size.ravel())
    if len(shape) != 2 or min(shape) < 0:
        raise FileFormatError(f"{path}: {prefix}{sep}shape must be two sizes but is {shape}.")
    try:
        m = sp.csr_matrix((data, indices, indptr), shape=shape)
    except (ValueError, TypeError, IndexError) as e:
        raise FileFormatError(f"{path}: {prefix} is not a valid CSR matrix ({e}).") from None
    return _checked(m, path, prefix)


def read_graph_npz(path: Path) -> tuple[Any, Any, Any]:
    """(adjacency CSR, features, labels or None) of a graph .npz in either key convention."""
    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        for sep, adj, attr in (("_", "adj", "attr"), (".", "adj_matrix", "attr_matrix")):
            if {f"{adj}{sep}{p}" for p in ("data", "indices", "indptr", "shape")} <= keys:
                a = _csr(f, adj, sep, path)
                if f"{attr}{sep}data" in keys:
                    x: Any = _csr(f, attr, sep, path)
                elif "attr_matrix" in keys:
                    x = np.asarray(f["attr_matrix"])
                else:
                    x = np.zeros((a.shape[0], 0), dtype=np.float32)
                y = np.asarray(f["labels"]) if "labels" in keys else None
                return a, x, y
    raise _unrecognised(path, keys)


def _triplet_prefix(path: Path) -> Path | None:
    for end in TRIPLET:
        if path.name.endswith(end):
            return path.with_name(path.name[: -len(end)])
    if Path(f"{path}_adj.npy").is_file():
        return path
    return None


def _read_triplet(prefix: Path) -> tuple[Any, Any, Any]:
    adj, feat, label = (Path(f"{prefix}{end}") for end in TRIPLET)
    for p in (adj, feat):
        if not p.is_file():
            raise FileNotFoundError(f"No such file: {p} (the {prefix.name} triplet needs "
                                    f"{adj.name} and {feat.name}, {label.name} optional).")
    a = np.load(adj, allow_pickle=False)
    x = np.load(feat, allow_pickle=False)
    y = np.load(label, allow_pickle=False) if label.is_file() else None
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise FileFormatError(f"{adj}: expected a square (N, N) adjacency but got shape {a.shape}.")
    return a, x, y


def _read_mat(path: Path) -> tuple[Any, Any, Any]:
    from .formats import read_mat

    mat = read_mat(path, isolated=True)
    pick = lambda names: next((mat[k] for k in names if k in mat), None)  # noqa: E731
    a, x, y = pick(MAT_ADJ), pick(MAT_FEAT), pick(MAT_LABEL)
    if a is None and x is None:
        raise _unrecognised(path, mat)
    return a, x, y


def _adjacency(a: Any, path: Path) -> sp.csr_matrix:
    a = _checked(a, path, "adjacency")
    if not sp.issparse(a):
        a = np.asarray(a)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise FileFormatError(f"{path}: the adjacency is not numeric (dtype {a.dtype}).")
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise FileFormatError(f"{path}: expected a square adjacency but got shape {a.shape}.")
    a = sp.csr_matrix(a)
    if a.shape[0] != a.shape[1]:
        raise FileFormatError(f"{path}: expected a square adjacency but got shape {a.shape}.")
    if a.nnz and not np.all(np.isfinite(a.data.astype(np.float64))):
        raise FileFormatError(f"{path}: the adjacency holds NaN or inf entries.")
    return remove_self_loops(symmetrize(binarize(a)))


def load_graph_file(path: str | Path, *, k: int = 10, name: str | None = None) -> Graph:
    """Read one graph file (or npy triplet) in any layout of the module docstring."""
    path = Path(path)
    prefix = _triplet_prefix(path)
    if prefix is None and not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    where = path if prefix is None else Path(f"{prefix}_*.npy")
    try:
        if prefix is not None:
            a, x, y = _read_triplet(prefix)
        elif path.suffix.lower() == ".npz":
            a, x, y = read_graph_npz(path)
        elif path.suffix.lower() == ".mat":
            a, x, y = _read_mat(path)
        else:
            raise FileFormatError(f"{path}: unknown extension {path.suffix!r}; layouts "
                                  "accepted: " + "; ".join(LAYOUTS) + ".")
        x = _checked(x, where, "feature matrix")
        if x is not None and not sp.issparse(x):
            x = np.asarray(x)
            if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
                raise FileFormatError(f"{where}: the features are not numeric (dtype {x.dtype}).")
            if x.ndim == 1:
                x = x.reshape(-1, 1)
        if a is None:
            from graphclust.neighbors import knn_graph

            n = x.shape[0]
            if not 1 <= k < n:
                raise FileFormatError(f"{where}: no adjacency, and a {k}-NN graph needs more "
                                      f"than {k} rows but the features have {n}.")
            adjacency = knn_graph(x, k)  # knn_graph densifies sparse features itself
        else:
            adjacency = _adjacency(a, where)
        if x is None:
            x = np.zeros((adjacency.shape[0], 0), dtype=np.float32)
        x = sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(x, np.float32)
        labels = None
        if y is not None:
            y = np.asarray(y).ravel() if np.asarray(y).ndim == 2 and 1 in np.asarray(y).shape else y
            y = np.asarray(y)
            if y.ndim == 2:  # one-hot rows
                y = y.argmax(1)
            if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
                raise FileFormatError(f"{where}: the labels hold NaN or inf.")
            labels = encode_labels(y)
        return Graph(x, adjacency, labels, name or (prefix or path).stem.split(".")[0],
                     meta={"source": str(where), "format": "graph-file"})
    except FileFormatError:
        raise
    except FileNotFoundError:
        raise
    except _READ_ERRORS as e:
        raise FileFormatError(f"{where}: could not read it as a graph ({type(e).__name__}: "
                              f"{e}).") from None
