"""Planetoid raw files (Yang et al., 2016): Cora, CiteSeer, PubMed.

The ``ind.<name>.*`` files are Python-2 pickles. Pickle can run arbitrary code, so they
are read with :class:`SafeUnpickler`, which resolves only the handful of NumPy/SciPy
classes these files name and refuses anything else before it is called.

Assembly follows Kipf & Welling: features = vstack(allx, tx) with the test rows put at
their (unsorted) ``test.index`` positions. CiteSeer has 15 ids inside the test range with
no test row: they get all-zero features and label -1 (unlabelled), instead of the silent
class 0 that argmax of an all-zero one-hot row would give.
"""

from __future__ import annotations

import io
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphclust.graph import Graph, binarize, remove_self_loops, symmetrize

from ._files import MissingDataError

__all__ = ["SafeUnpickler", "safe_load_pickle", "load_planetoid", "PLANETOID_PARTS"]

PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


def _csr_matrix() -> type:
    return sp.csr_matrix


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the classes the Planetoid files need."""

    ALLOWED: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): None,  # resolved lazily below
        ("numpy._core.multiarray", "_reconstruct"): None,
        ("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix,
        ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix,
        ("scipy.sparse", "csr_matrix"): sp.csr_matrix,
        ("collections", "defaultdict"): defaultdict,
        ("__builtin__", "list"): list,
        ("builtins", "list"): list,
    }

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"Refusing to load {module}.{name} from a pickle: only NumPy arrays, SciPy "
                "CSR matrices and lists/defaultdicts are allowed in Planetoid files. The file "
                "may be corrupt or malicious; replace it with the original."
            )
        obj = self.ALLOWED[key]
        if obj is None:  # NumPy 2 moved numpy.core to numpy._core
            import importlib

            try:
                obj = importlib.import_module("numpy._core.multiarray")._reconstruct
            except ImportError:  # NumPy 1.x
                obj = importlib.import_module("numpy.core.multiarray")._reconstruct
        return obj


def safe_load_pickle(path: Path) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise pickle.UnpicklingError(f"{path}: {exc}") from None


def load_planetoid(name: str, raw_dir: Path, *, structure_only: bool = False) -> Graph:
    """Assemble a Planetoid dataset from the directory holding ``ind.<name>.*``.

    With ``structure_only=True`` the feature files may be missing (PubMed in the shared
    data lacks ``allx``): the graph and labels load and ``features`` is an (N, 0) matrix.
    """

    def part(p: str) -> Path:
        return raw_dir / f"ind.{name}.{p}"

    needed = PLANETOID_PARTS if not structure_only else ("y", "ty", "ally", "graph", "test.index")
    missing = [part(p).name for p in needed if not part(p).is_file()]
    if missing:
        feature_note = (
            " The graph and labels can still be loaded without features: "
            f"load_dataset({name!r}, structure_only=True)."
            if set(missing) <= {f"ind.{name}.allx", f"ind.{name}.x", f"ind.{name}.tx"}
            else ""
        )
        raise MissingDataError(
            f"Planetoid {name!r} in {raw_dir} lacks {', '.join(missing)}; these hold "
            + ("the node features" if feature_note else "parts of the dataset")
            + f" (ind.{name}.allx: features of all non-test nodes).{feature_note}"
        )

    y_train = safe_load_pickle(part("y"))
    ty, ally = safe_load_pickle(part("ty")), safe_load_pickle(part("ally"))
    graph = safe_load_pickle(part("graph"))
    test_idx = np.loadtxt(part("test.index"), dtype=np.int64).ravel()
    test_sorted = np.sort(test_idx)
    n_train = ally.shape[0]
    n = max(max(graph.keys()) + 1, int(test_sorted.max()) + 1)
    full_test = np.arange(test_sorted.min(), test_sorted.max() + 1)
    placeholders = np.setdiff1d(full_test, test_idx)

    # Kipf's assembly: extend ty over the full test range (placeholders stay all-zero),
    # then give the rows at test.index the rows of the sorted test range.
    y_onehot = np.zeros((n, ally.shape[1]), dtype=np.int64)
    y_onehot[:n_train] = ally
    ty_ext = np.zeros((full_test.size, ally.shape[1]), dtype=np.int64)
    ty_ext[test_sorted - test_sorted.min()] = ty
    y_onehot[full_test.min() :] = ty_ext
    y_onehot[test_idx] = y_onehot[test_sorted]
    labels = np.where(y_onehot.any(1), y_onehot.argmax(1), -1)

    if structure_only:
        x: Any = sp.csr_matrix((n, 0), dtype=np.float32)
    else:
        x_train = safe_load_pickle(part("x"))
        allx, tx = safe_load_pickle(part("allx")), safe_load_pickle(part("tx"))
        if x_train.shape[0] != y_train.shape[0] or (x_train - allx[: x_train.shape[0]]).nnz:
            raise ValueError(
                f"Planetoid {name!r}: ind.{name}.x is not the first rows of ind.{name}.allx; "
                f"the files in {raw_dir} do not belong together."
            )
        tx_ext = sp.lil_matrix((full_test.size, tx.shape[1]), dtype=np.float32)
        tx_ext[test_sorted - test_sorted.min(), :] = tx
        x = sp.vstack([sp.csr_matrix(allx), sp.csr_matrix(tx_ext)]).tolil()
        x[test_idx, :] = x[test_sorted, :]
        x = sp.csr_matrix(x, dtype=np.float32)
        if x.shape[0] != n:
            raise ValueError(
                f"Planetoid {name!r}: assembled {x.shape[0]} feature rows for {n} graph nodes; "
                f"the files in {raw_dir} do not belong together."
            )

    rows = np.repeat(np.fromiter(graph.keys(), dtype=np.int64), [len(v) for v in graph.values()])
    cols = np.fromiter((j for v in graph.values() for j in v), dtype=np.int64, count=rows.size)
    a = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, n))
    raw_loops = int(np.count_nonzero(binarize(a).diagonal()))
    a = remove_self_loops(binarize(symmetrize(a)))
    return Graph(
        x,
        a,
        labels,
        name,
        meta={
            "source": str(raw_dir),
            "format": "planetoid",
            "self_loops_removed": raw_loops,
            "placeholder_nodes": placeholders.tolist(),
            # the public split of Yang et al.: 20 labels per class, next 500 for validation
            "split": {
                "train": np.arange(y_train.shape[0]),
                "val": np.arange(y_train.shape[0], y_train.shape[0] + 500),
                "test": np.sort(test_idx),
            },
            "structure_only": structure_only,
        },
    )
