"""Checkpoints of a fit in progress, so that a killed long run resumes where it stopped.

One file, ``<dir>/checkpoint.pt``, written atomically (a temporary file in the same folder,
then ``os.replace``): a kill during a save leaves the previous checkpoint whole. It holds
the fit's seed, a fingerprint of the estimator's parameters and of the graph (a checkpoint
of another run is refused, not silently continued), the history so far, and per training
phase of :meth:`BaseGraphClusterer._train` either its end (weights, result, the method's
registered state) or, for the phase in progress, everything its loop needs to go on:
weights, optimiser and scheduler state, early-stopping bookkeeping, torch's global RNG and
the method's registered state (its torch / NumPy generators, a mixture's parameters).

A resumed fit replays the method's ``_fit`` from the start: the steps outside the training
loops (diffusion, k-means) are deterministic given the seed and run again; a finished phase
is skipped (its end state loaded); the interrupted phase continues at the epoch after the
last save. On the same device and thread count the labels equal an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

log = logging.getLogger(__name__)

__all__ = ["Checkpoint", "fingerprint"]

FILE = "checkpoint.pt"


def fingerprint(estimator_name: str, params: dict[str, Any], graph: Any) -> str:
    """A hash of the estimator's class and parameters and of the graph's arrays."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([estimator_name, {k: repr(v) for k, v in sorted(params.items())}])
             .encode())
    a = sp.csr_matrix(graph.adjacency)
    for arr in (a.indptr, a.indices, a.data):
        h.update(np.ascontiguousarray(arr).tobytes())
    x = graph.features
    if sp.issparse(x):
        x = sp.csr_matrix(x)
        for arr in (x.indptr, x.indices, x.data):
            h.update(np.ascontiguousarray(arr).tobytes())
    else:
        h.update(np.ascontiguousarray(x).tobytes())
    h.update(repr((a.shape, x.shape)).encode())
    return h.hexdigest()


def capture(state: dict[str, Any]) -> dict[str, Any]:
    """What to save of a method's registered state: generators' states, other values as is."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, torch.Generator):
            out[key] = ("torch.Generator", value.get_state())
        elif isinstance(value, np.random.Generator):
            out[key] = ("numpy.Generator", value.bit_generator.state)
        else:
            out[key] = ("value", value)
    return out


def restore(state: dict[str, Any], saved: dict[str, Any]) -> None:
    """Put ``saved`` (from :func:`capture`) back into ``state``: generators in place, other
    values by replacing the dict's entries (the method's closures read them from it)."""
    for key, (kind, value) in saved.items():
        if key not in state:
            raise ValueError(f"the checkpoint holds state {key!r} that this fit does not "
                             f"register ({sorted(state)}); it comes from another version.")
        if kind == "torch.Generator":
            state[key].set_state(value)
        elif kind == "numpy.Generator":
            state[key].bit_generator.state = value
        else:
            state[key] = value


class Checkpoint:
    """The checkpoint file of one fit (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str], every: float, key: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE
        self.every = float(every)
        self.key = key
        self.data: dict[str, Any] = {"key": key, "seed": None, "phases": {}, "history": {}}
        self.last_save = time.monotonic()
        self.resumed = False
        if self.path.exists():
            try:
                data = torch.load(self.path, map_location="cpu", weights_only=False)
            except Exception as err:  # noqa: BLE001 - any unreadable file: say which
                raise ValueError(f"checkpoint {self.path} cannot be read ({err}); delete it "
                                 "to start afresh.") from err
            if data.get("key") != key:
                raise ValueError(
                    f"checkpoint {self.path} belongs to another fit (other parameters or "
                    "another graph); point checkpoint to an empty folder, or delete the "
                    "file to start afresh.")
            self.data = data
            self.resumed = True
            log.info("resuming from %s (%s)", self.path, ", ".join(
                f"{p} {'done' if r['complete'] else 'at epoch ' + str(r['epoch'] + 1)}"
                for p, r in data["phases"].items()))

    @property
    def seed(self) -> int | None:
        return self.data["seed"]

    def set_seed(self, seed: int) -> None:
        self.data["seed"] = int(seed)

    def phase(self, name: str) -> dict[str, Any] | None:
        return self.data["phases"].get(name)

    def due(self) -> bool:
        return time.monotonic() - self.last_save >= self.every

    def save(self, phase: str, record: dict[str, Any], history: dict[str, list[float]]) -> None:
        self.data["phases"][phase] = record
        self.data["history"] = {k: list(v) for k, v in history.items()}
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}.tmp")
        try:
            torch.save(self.data, tmp)
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.last_save = time.monotonic()
        log.debug("checkpoint saved: %s %s", phase,
                  "done" if record["complete"] else f"epoch {record['epoch'] + 1}")

    def finish(self) -> None:
        """The fit ended: the checkpoint has served; remove it."""
        if self.path.exists():
            self.path.unlink()
