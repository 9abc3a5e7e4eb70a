"""The estimator base class: fit skeleton, seeding, device choice, fitted checks.

Subclasses implement ``_fit(graph, device, rng)`` and set ``labels_`` (and usually
``embedding_``). The base class validates the input, forks the global RNG state so a fit
leaves NumPy's and torch's global seeds as it found them, times the fit, and keeps a
per-epoch ``history_`` of loss terms. Library code logs (logger ``graphclust``); it never
prints. ``verbose=True`` attaches a stderr handler at INFO level for convenience.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import NotFittedError

from graphclust.graph import Graph

__all__ = ["BaseGraphClusterer", "resolve_device", "check_positive_int"]

log = logging.getLogger("graphclust")

EpochCallback = Callable[[str, int, int, dict[str, float]], None]


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is checked and returned."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]' but got {device!r}.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA device is available; use 'auto'.")
    return dev


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} but got {value!r}.")
    return int(value)


def check_positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} but got {value!r}.")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False but got {value!r}.")
    return bool(value)


class BaseGraphClusterer(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Common skeleton: ``fit(graph)`` -> ``labels_``; ``fit_predict(graph)``.

    Subclasses declare their parameters in ``__init__`` (keyword-only, stored as is) and
    implement ``_check_params()`` and ``_fit(graph, device, rng)``. A fixed ``random_state``
    repeats a run exactly on the same device and torch thread count (floating-point sums
    are ordered by the threads, so another count can drift over many epochs).
    """

    n_clusters: int
    random_state: int | None
    device: str
    verbose: bool

    #: optional hook ``callback(phase, epoch, n_epochs, losses)`` used by the CLI for
    #: progress bars; set it as an attribute, it is not an estimator parameter.
    epoch_callback: EpochCallback | None = None

    def _check_params(self, graph: Graph) -> None:
        check_positive_int("n_clusters", self.n_clusters)
        if self.n_clusters > graph.n_nodes:
            raise ValueError(
                f"Expected n_nodes >= n_clusters but got n_clusters = {self.n_clusters}, "
                f"n_nodes = {graph.n_nodes}."
            )
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            raise ValueError(f"random_state must be an int or None but got {self.random_state!r}.")

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def fit(self, graph: Graph, y: Any = None) -> BaseGraphClusterer:
        """Train on ``graph`` (labels, if any, are never used). Returns ``self``."""
        if not isinstance(graph, Graph):
            raise TypeError(
                f"Expected a graphclust.Graph but got {type(graph).__name__}; build one with "
                "Graph(features, adjacency) or, for plain features, "
                "Graph(X, graphclust.neighbors.knn_graph(X, k=10))."
            )
        self._check_params(graph)
        device = resolve_device(self.device)
        handler = None
        if self.verbose:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            log.addHandler(handler)
            previous_level = log.level
            log.setLevel(logging.INFO)
        self.history_: dict[str, list[float]] = {}
        start = time.perf_counter()
        seed = self.random_state if self.random_state is not None else int(
            np.random.SeedSequence().generate_state(1)[0]
        )
        try:
            devices = [device.index or 0] if device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                self._fit(graph, device, np.random.default_rng(seed))
        finally:
            if handler is not None:
                log.removeHandler(handler)
                log.setLevel(previous_level)
        self.fit_seconds_ = time.perf_counter() - start
        self.n_features_in_ = graph.n_features
        return self

    def fit_predict(self, graph: Graph, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(graph).labels_

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(graph) first."
            )

    def _log_epoch(self, phase: str, epoch: int, n_epochs: int, **losses: float) -> None:
        for key, value in losses.items():
            self.history_.setdefault(f"{phase}/{key}", []).append(float(value))
        if self.epoch_callback is not None:
            self.epoch_callback(phase, epoch, n_epochs, losses)
        if epoch % 50 == 0 or epoch == n_epochs - 1:
            terms = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
            log.info("%s %s epoch %d/%d %s", type(self).__name__, phase, epoch + 1, n_epochs, terms)
