"""A user's own graph: an edge list plus a feature file (plus optional labels).

Formats
-------
edges : CSV/TSV/whitespace text, ``source target [weight]`` per line; a header line and
    ``#`` comments are skipped. Node ids may be integers ``0..N-1`` (rows of the feature
    file) or any strings, in which case the feature file must carry an id column.
    Duplicate edges, both directions and self-loops are allowed (collapsed / dropped).
features : ``.csv``/``.tsv``/``.txt`` (one row per node; an optional header; a first
    column of non-numeric ids names the nodes), ``.npy`` (dense (N, F)), or ``.npz``
    (``scipy.sparse.save_npz`` output, or a dense array under ``x``/``features``).
labels : text, one label per line in node order, or ``id,label`` lines.

Every parse error names the file, the line and the problem.
"""

from __future__ import annotations

import csv
import io
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


def _read_features_text(path: Path) -> tuple[list[str] | None, np.ndarray]:
    rows = list(read_table(path))
    if rows and not all(_is_number(c) for c in rows[0][1][1:]):
        rows = rows[1:]  # header
    if not rows:
        raise FileFormatError(f"{path}: no data rows.")
    has_ids = not all(_is_number(r[1][0]) for r in rows)
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


def _read_features(path: Path) -> tuple[list[str] | None, Any]:
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
    return _read_features_text(path)


def load_edge_list_graph(
    edges: str | Path,
    features: str | Path,
    labels: str | Path | None = None,
    *,
    name: str | None = None,
) -> Graph:
    """Build a :class:`Graph` from a user's edge list, feature file and optional labels."""
    edges, features = Path(edges), Path(features)
    for p in (edges, features) + ((Path(labels),) if labels is not None else ()):
        if not p.is_file():
            raise FileNotFoundError(f"No such file: {p}")
    ids, x = _read_features(features)
    n = x.shape[0]
    index = {s: i for i, s in enumerate(ids)} if ids is not None else None
    if index is not None and len(index) != n:
        raise FileFormatError(f"{features}: node ids in the first column are not unique.")

    src: list[int] = []
    dst: list[int] = []
    w: list[float] = []
    header_skipped = False
    for lineno, cells in read_table(edges):
        if len(cells) not in (2, 3):
            raise FileFormatError(
                f"{edges}, line {lineno}: expected 'source,target[,weight]' but found "
                f"{len(cells)} column(s); the file may be truncated."
            )
        ends: list[int] = []
        for c in cells[:2]:
            if index is not None:
                if c not in index:
                    if not src and not header_skipped:
                        break
                    raise FileFormatError(
                        f"{edges}, line {lineno}: node id {c!r} has no row in {features}."
                    )
                ends.append(index[c])
            else:
                try:
                    v = int(c)
                except ValueError:
                    if not src and not header_skipped:
                        break
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
        if len(ends) < 2:
            header_skipped = True
            continue
        weight = 1.0
        if len(cells) == 3:
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
    weighted = len(set(w)) > 1
    a = remove_self_loops(symmetrize(a if weighted else binarize(a)))

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
) -> Graph:
    """Feature-only data: the undirected ``knn``-NN graph (cosine) of a feature file.

    The feature file follows the same formats as :func:`load_edge_list_graph`.
    """
    from graphclust.neighbors import knn_graph

    features = Path(features)
    for p in (features,) + ((Path(labels),) if labels is not None else ()):
        if not p.is_file():
            raise FileNotFoundError(f"No such file: {p}")
    ids, x = _read_features(features)
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
