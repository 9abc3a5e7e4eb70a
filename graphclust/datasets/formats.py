"""One reader per file format: SDCN text graphs, Shchur .npz, MATLAB .mat, IDX, HDF5.

Each returns plain arrays; :mod:`graphclust.datasets.registry` assembles the Graph and
applies the quirks the shared data README lists (1-based labels, one-directional or
duplicated edges, self-loops).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "read_edge_txt",
    "read_label_txt",
    "read_mat",
    "read_idx",
    "read_usps_h5",
    "encode_labels",
]


def encode_labels(y: Any) -> np.ndarray:
    """Map any label values (0-based, 1-based, strings) to 0..C-1 in sorted order."""
    return np.unique(np.asarray(y).ravel(), return_inverse=True)[1].astype(np.int64)


def read_edge_txt(path: Path, n: int) -> sp.csr_matrix:
    """Read an ``i j`` per line edge list of 0-based ids (CRLF or LF) into an (n, n) CSR."""
    try:
        e = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: expected two integer node ids per line ({exc}).") from None
    if e.size and e.shape[1] != 2:
        raise ValueError(f"{path}: expected two columns 'i j' per line but found {e.shape[1]}.")
    if e.size and (e.min() < 0 or e.max() >= n):
        raise ValueError(
            f"{path}: node ids span [{e.min()}, {e.max()}] but the dataset has {n} nodes."
        )
    return sp.csr_matrix((np.ones(len(e), np.float32), (e[:, 0], e[:, 1])), shape=(n, n))


def read_label_txt(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, dtype=np.int64).ravel()
    except ValueError as exc:
        raise ValueError(f"{path}: expected one integer label per line ({exc}).") from None


def _loadmat(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat

    return {k: v for k, v in loadmat(path).items() if not k.startswith("__")}


def _loadmat_in_child(path: Path) -> dict[str, Any]:
    """:func:`_loadmat` in the forked reader: a crash there is expected and reported by the
    parent, so the child does not dump its stack (faulthandler, inherited from pytest)."""
    import faulthandler

    faulthandler.disable()
    return _loadmat(path)


def read_mat(path: Path, *, isolated: bool = False) -> dict[str, Any]:
    """MATLAB 5 .mat (not v7.3/HDF5) via SciPy; 2-D (n, 1) label vectors come back as is.

    ``isolated=True`` reads it in a forked child process: SciPy's MATLAB reader trusts the
    sizes written in the file, and a damaged sparse variable crashed the whole process
    (a segmentation fault in ``read_var_array``, found by fuzzing); a user's file is read so,
    and a crash becomes a ValueError naming it. The registered datasets' files are read
    in-process.
    """
    try:
        if not isolated:
            return _loadmat(path)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        try:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
                return ex.submit(_loadmat_in_child, path).result()
        except BrokenProcessPool:
            raise ValueError(f"{path}: SciPy's MATLAB reader crashed on this file; it is "
                             "damaged (cut short or with wrong sizes inside).") from None
    except NotImplementedError:
        raise ValueError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save with "
            "save(..., '-v7') or read it with h5py."
        ) from None


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST format), gzip'ed or not: big-endian header, then uint8 data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(data)} bytes).")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()}).")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(
            f"{path}: header says {dims} = {int(np.prod(dims))} values but the file holds "
            f"{body.size}; it is truncated or corrupt."
        )
    return body.reshape(dims)


def read_usps_h5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """USPS in the h5 layout train/{data,target}, test/{data,target}; rows = train then test."""
    import h5py

    with h5py.File(path, "r") as f:
        x = np.concatenate([f["train/data"][:], f["test/data"][:]]).astype(np.float32)
        y = np.concatenate([f["train/target"][:], f["test/target"][:]]).astype(np.int64)
    return x, y
