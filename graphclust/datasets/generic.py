"""A user's own graph: an edge list plus a feature file (plus optional labels).

Formats
-------
edges : CSV/TSV/whitespace text, ``source target [weight]`` per line; ``#`` comments are
    skipped, and so is a first line whose two ids are both unknown (a header; a warning
    says so unless it reads like one: ``source,target``, ``src,dst``, ``u,v``, ...). A first
    line with one known and one unknown id is an error, like any later line. Node ids may
    be integers ``0..N-1`` (rows of the feature file) or any strings, in which case the
    feature file must carry an id column. Without a weight column the graph is 0/1
    (duplicates collapse); with one the weights are kept as given, whatever their values
    (equal weights included), and a pair listed twice in the same direction has its weights
    summed. Both directions are merged by the larger weight; self-loops are dropped.
features : ``.csv``/``.tsv``/``.txt`` (one row per node; an optional header), ``.npy``
    (dense (N, F)), or ``.npz`` (``scipy.sparse.save_npz`` output, or a dense array under
    ``x``/``features``). The first column holds node ids when it is not numeric, when the
    header names it (``id``, ``node``, ``node_id``, ``name``, ``index`` or empty), or,
    guessed with a warning, when it counts 0..N-1 (or 1..N) row by row (N >= 3); ``id_column=True/False`` decides instead of the guess.
labels : text, one label per line in node order, or ``id,label`` lines.

Every parse error names the file, the line and the problem.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphclust.graph import Graph, binarize, remove_self_loops, symmetrize

from .formats import encode_labels

__all__ = ["load_edge_list_graph", "load_feature_graph", "read_table", "FileFormatError"]


class FileFormatError(ValueError):
    """A data file could not be parsed; the message names the file and line."""


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) for each data line of a CSV/TSV/whitespace file."""
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError:
        raise FileFormatError(f"{path}: not a text file (could not decode as UTF-8).") from None
    if not text.strip():
        raise FileFormatError(f"{path}: the file is empty.")
    first = next(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    delim = "," if "," in first else ("\t" if "\t" in first else None)
    for lineno, line in enumerate(io.StringIO(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = next(csv.reader([stripped], delimiter=delim)) if delim else stripped.split()
        yield lineno, [c.strip() for c in cells]


#: header names of a feature file's id column, and of an edge list's columns
ID_HEADERS = frozenset({"", "id", "ids", "node", "nodes", "node_id", "nodeid", "name", "index"})
EDGE_HEADERS = frozenset({"source", "target", "src", "dst", "from", "to", "u", "v", "node1",
                          "node2", "head", "tail", "i", "j", "id1", "id2", "weight"})


def _integer_ids(cells: list[str]) -> bool:
    """The integers 0, 1, ..., N-1 (or 1..N) row by row, N >= 3: a row index, not a feature."""
    try:
        values = [int(c) for c in cells]
    except ValueError:
        return False
    n = len(values)
    return n >= 3 and (values == list(range(n)) or values == list(range(1, n + 1)))


def _read_features_text(path: Path, id_column: bool | None = None
                        ) -> tuple[list[str] | None, np.ndarray]:
    rows = list(read_table(path))
    header = None
    if rows and not all(_is_number(c) for c in rows[0][1][1:]):
        header, rows = rows[0][1], rows[1:]
    if not rows:
        raise FileFormatError(f"{path}: no data rows.")
    first = [r[1][0] for r in rows]
    has_ids = not all(_is_number(c) for c in first)
    if id_column is not None:
        if not id_column and has_ids:
            raise FileFormatError(f"{path}: id_column=False but the first column is not "
                                  f"numeric (e.g. {first[0]!r}); it can only be node ids.")
        has_ids = bool(id_column)
    elif not has_ids and header is not None and header[0].strip().lower() in ID_HEADERS:
        has_ids = True
    elif not has_ids and len(rows[0][1]) > 1 and _integer_ids(first):
        has_ids = True
        warnings.warn(
            f"{path}: the first column holds the integers {min(map(int, first))}.."
            f"{max(map(int, first))}, one per row; taken as node ids, not as a feature. "
            "Pass id_column=False to keep it as a feature, or id_column=True to silence this.",
            UserWarning, stacklevel=6,
        )
    width = len(rows[0][1])
    ids: list[str] | None = [] if has_ids else None
    out = np.empty((len(rows), width - int(has_ids)), dtype=np.float32)
    for i, (lineno, cells) in enumerate(rows):
        if len(cells) != width:
            raise FileFormatError(
                f"{path}, line {lineno}: expected {width} columns (as on line {rows[0][0]}) "
                f"but found {len(cells)}; the file may be truncated."
            )
        if ids is not None:
            ids.append(cells[0])
            cells = cells[1:]
        for j, c in enumerate(cells):
            try:
                out[i, j] = float(c)
            except ValueError:
                raise FileFormatError(
                    f"{path}, line {lineno}, column {j + 1 + int(has_ids)}: {c!r} is not a number."
                ) from None
    if not np.all(np.isfinite(out)):
        r = int(np.argwhere(~np.isfinite(out))[0, 0])
        raise FileFormatError(f"{path}, line {rows[r][0]}: NaN or inf feature value.")
    return ids, out


def _read_features(path: Path, id_column: bool | None = None) -> tuple[list[str] | None, Any]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False)
        if x.ndim != 2:
            raise FileFormatError(f"{path}: expected a 2-D (N, F) array but got shape {x.shape}.")
        return None, x
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            if {"data", "indices", "indptr", "shape"} <= set(f.files):
                return None, sp.load_npz(path)
            for key in ("x", "features", "X"):
                if key in f.files:
                    return None, np.asarray(f[key])
            raise FileFormatError(
                f"{path}: expected a scipy.sparse.save_npz file or an array named 'x' or "
                f"'features' but found keys {f.files}."
            )
    return _read_features_text(path, id_column)


def _naming_files(*paths: Path | None) -> Any:
    """Re-raise what parsing a damaged file raises as a FileFormatError naming the files
    (a FileFormatError or FileNotFoundError already does and passes unchanged)."""
    import contextlib

    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except (FileFormatError, FileNotFoundError):
            raise
        except (ValueError, TypeError, IndexError, OverflowError, MemoryError, OSError,
                UnicodeError, KeyError, EOFError) as e:
            names = ", ".join(str(p) for p in paths if p is not None)
            raise FileFormatError(f"{names}: {type(e).__name__}: {e}") from None

    return guard()


def load_edge_list_graph(
    edges: str | Path,
    features: str | Path,
    labels: str | Path | None = None,
    *,
    name: str | None = None,
    id_column: bool | None = None,
) -> Graph:
    """Build a :class:`Graph` from a user's edge list, feature file and optional labels
    (formats in the module docstring; ``id_column`` as there). Any problem with the files
    is a :class:`FileFormatError` naming them."""
    with _naming_files(Path(edges), Path(features), None if labels is None else Path(labels)):
        return _load_edge_list_graph(Path(edges), Path(features), labels, name, id_column)


def _load_edge_list_graph(edges: Path, features: Path, labels: str | Path | None,
                          name: str | None, id_column: bool | None) -> Graph:
    for p in (edges, features) + ((Path(labels),) if labels is not None else ()):
        if not p.is_file():
            raise FileNotFoundError(f"No such file: {p}")
    ids, x = _read_features(features, id_column)
    n = x.shape[0]
    index = {s: i for i, s in enumerate(ids)} if ids is not None else None
    if index is not None and len(index) != n:
        raise FileFormatError(f"{features}: node ids in the first column are not unique.")

    def known(cell: str) -> bool:
        if index is not None:
            return cell in index
        try:
            return 0 <= int(cell) < n
        except ValueError:
            return False

    src: list[int] = []
    dst: list[int] = []
    w: list[float] = []
    has_weights = False
    first_line = True
    for lineno, cells in read_table(edges):
        if len(cells) not in (2, 3):
            raise FileFormatError(
                f"{edges}, line {lineno}: expected 'source,target[,weight]' but found "
                f"{len(cells)} column(s); the file may be truncated."
            )
        if first_line:
            first_line = False
            if not known(cells[0]) and not known(cells[1]):
                if not all(c.strip().lower() in EDGE_HEADERS for c in cells):
                    warnings.warn(
                        f"{edges}, line {lineno}: {cells[0]!r} and {cells[1]!r} are no node ids "
                        "of the feature file; the line is skipped as a header.",
                        UserWarning, stacklevel=4,
                    )
                continue
        ends: list[int] = []
        for c in cells[:2]:
            if index is not None:
                if c not in index:
                    raise FileFormatError(
                        f"{edges}, line {lineno}: node id {c!r} has no row in {features}."
                    )
                ends.append(index[c])
            else:
                try:
                    v = int(c)
                except ValueError:
                    raise FileFormatError(
                        f"{edges}, line {lineno}: node id {c!r} is not an integer row index; "
                        f"string ids need an id column (first column) in {features}."
                    ) from None
                if not 0 <= v < n:
                    raise FileFormatError(
                        f"{edges}, line {lineno}: node id {v} is outside [0, {n - 1}]: "
                        f"{features} has {n} rows (one per node); is a row missing?"
                    )
                ends.append(v)
        weight = 1.0
        if len(cells) == 3:
            has_weights = True
            try:
                weight = float(cells[2])
            except ValueError:
                raise FileFormatError(
                    f"{edges}, line {lineno}: weight {cells[2]!r} is not a number."
                ) from None
            if not np.isfinite(weight) or weight < 0:
                raise FileFormatError(
                    f"{edges}, line {lineno}: weight {cells[2]} must be finite and >= 0."
                )
        src.append(ends[0])
        dst.append(ends[1])
        w.append(weight)
    a = sp.csr_matrix((np.asarray(w, np.float32), (src, dst)), shape=(n, n))
    a.sum_duplicates()
    a = remove_self_loops(symmetrize(a if has_weights else binarize(a)))

    y = None
    if labels is not None:
        y = _read_labels(Path(labels), n, index)
    return Graph(
        x,
        a,
        y,
        name or edges.stem,
        meta={
            "format": "edge-list",
            "edges": str(edges),
            "features": str(features),
            "node_ids": ids,
        },
    )


def _read_labels(path: Path, n: int, index: dict[str, int] | None) -> np.ndarray:
    rows = list(read_table(path))
    if rows and len(rows[0][1]) == 2 and rows[0][1][1].lower() in ("label", "class", "y"):
        rows = rows[1:]
    values: list[str] = [""] * n
    if rows and len(rows[0][1]) == 2:
        for lineno, cells in rows:
            if len(cells) != 2:
                raise FileFormatError(f"{path}, line {lineno}: expected 'id,label'.")
            key = cells[0]
            if index is not None:
                if key not in index:
                    raise FileFormatError(f"{path}, line {lineno}: unknown node id {key!r}.")
                values[index[key]] = cells[1]
            else:
                try:
                    values[int(key)] = cells[1]
                except (ValueError, IndexError):
                    raise FileFormatError(
                        f"{path}, line {lineno}: node id {key!r} is not in [0, {n - 1}]."
                    ) from None
    else:
        if len(rows) != n:
            raise FileFormatError(
                f"{path}: expected {n} labels (one per node, line by line) but found {len(rows)}."
            )
        values = [cells[0] for _, cells in rows]
    known = np.array([v != "" for v in values])
    y = np.full(n, -1, dtype=np.int64)
    if known.any():
        y[known] = encode_labels(np.array(values)[known])
    return y


def load_feature_graph(
    features: str | Path,
    labels: str | Path | None = None,
    *,
    knn: int = 10,
    name: str | None = None,
    id_column: bool | None = None,
) -> Graph:
    """Feature-only data: the undirected ``knn``-NN graph (cosine) of a feature file.

    The feature file follows the same formats as :func:`load_edge_list_graph`.
    """
    with _naming_files(Path(features), None if labels is None else Path(labels)):
        return _load_feature_graph(Path(features), labels, knn, name, id_column)


def _load_feature_graph(features: Path, labels: str | Path | None, knn: int,
                        name: str | None, id_column: bool | None) -> Graph:
    from graphclust.neighbors import knn_graph

    for p in (features,) + ((Path(labels),) if labels is not None else ()):
        if not p.is_file():
            raise FileNotFoundError(f"No such file: {p}")
    ids, x = _read_features(features, id_column)
    n = x.shape[0]
    if not 1 <= knn < n:
        raise ValueError(f"knn must be in [1, {n - 1}] for {n} nodes but got {knn}.")
    index = {s: i for i, s in enumerate(ids)} if ids is not None else None
    if index is not None and len(index) != n:
        raise FileFormatError(f"{features}: node ids in the first column are not unique.")
    y = _read_labels(Path(labels), n, index) if labels is not None else None
    return Graph(x, knn_graph(x, k=knn), y, name or features.stem,
                 meta={"format": "features+knn", "features": str(features), "knn": knn,
                       "node_ids": ids})
