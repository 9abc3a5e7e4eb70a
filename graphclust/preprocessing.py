"""Feature preprocessing shared by the methods."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["row_normalize"]


def row_normalize(features: Any, *, only_nonnegative: bool = False) -> Any:
    """Divide each row by its sum (rows summing to 0 stay 0): DGI's preprocessing.

    With ``only_nonnegative`` the features are returned unchanged when any value is
    negative: a row sum is then no scale (it can be ~0) and dividing by it is meaningless.
    """
    if only_nonnegative:
        values = features.data if sp.issparse(features) else np.asarray(features)
        if values.size and values.min() < 0:
            return features
    if sp.issparse(features):
        x = sp.csr_matrix(features, dtype=np.float32)
        s = np.asarray(x.sum(1)).ravel()
        inv = np.divide(1.0, s, out=np.zeros_like(s), where=s != 0)
        return sp.csr_matrix(sp.diags(inv) @ x, dtype=np.float32)
    x = np.asarray(features, dtype=np.float32)
    s = x.sum(1, keepdims=True)
    return np.divide(x, s, out=np.zeros_like(x), where=s != 0)
