"""Evaluation protocols beyond clustering scores: the linear probe of DGI's Table 2."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["linear_probe"]


def linear_probe(embedding: np.ndarray, labels: np.ndarray, split: dict[str, Any],
                 *, C: float = 1.0, max_iter: int = 2000) -> float:
    """Test accuracy of a logistic regression fit on the frozen embedding's train rows.

    ``split`` holds index arrays "train" and "test" (Planetoid's public split: 20 labels
    per class, 1000 test nodes). Rows are l2-normalised first; unlabelled (-1) test
    nodes are skipped.
    """
    for key in ("train", "test"):
        if key not in split:
            raise ValueError(f"split must hold 'train' and 'test' index arrays; {key!r} is missing.")
    z = np.asarray(embedding, dtype=np.float64)
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    train, test = np.asarray(split["train"]), np.asarray(split["test"])
    test = test[labels[test] >= 0]
    clf = LogisticRegression(C=C, max_iter=max_iter).fit(z[train], labels[train])
    return float((clf.predict(z[test]) == labels[test]).mean())
