"""numba build of :func:`graphclust.diffusion.ppr_push`'s kernel (imported only when numba
is installed): the per-share push compiled as is, the shares run in parallel by ``prange``,
each with its own scratch arrays. Both functions are cached on disk after the first build."""

from __future__ import annotations

import numba
import numpy as np

from graphclust.diffusion import _push_chunk

_chunk = numba.njit(cache=True, nogil=True)(_push_chunk)


@numba.njit(parallel=True, cache=True)
def push_all(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, deg: np.ndarray,
             alpha: float, eps: float, k: int, threshold: float, n_chunks: int,
             out_idx: np.ndarray, out_val: np.ndarray, out_cnt: np.ndarray) -> None:
    n = deg.shape[0]
    step = (n + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            _chunk(indptr, indices, weights, deg, alpha, eps, k, threshold, lo, hi,
                   out_idx, out_val, out_cnt)
