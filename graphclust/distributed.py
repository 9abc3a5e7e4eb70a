"""Data-parallel training on ``torch.distributed``: the ranks, node shards, all-reduces,
a graph shared read-only through memory-mapped files, and the launcher behind
``graphclust run ... --nproc N``.

What runs where (mini-batch DGI and GMIM, ``batch_size`` set): every rank holds the same
model (same seed), takes its share of each global node batch, and
:class:`torch.nn.parallel.DistributedDataParallel` averages the gradients; the epoch loss
that early stopping reads is averaged over the ranks, so all ranks stop on the same epoch;
GMIM's EM statistics (responsibility counts, weighted sums, weighted squared deviations)
are summed over the ranks' node shards, so every rank holds the mixture that one process
would fit on all the nodes (:func:`graphclust.mixture.m_step` ``reduce``). The backend is
gloo on CPU and NCCL on CUDA.

Nothing here starts a process group on its own: a program started by ``torchrun`` calls
:func:`init_from_env` (the CLI does), and the estimators shard whenever the default group
has more than one rank. :func:`save_graph` / :func:`load_graph` share the graph's arrays
between the ranks of one machine as ``.npy`` files opened with ``mmap_mode="r"``: the
operating system keeps one copy in its page cache, not one per process.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

from graphclust.graph import Graph

__all__ = ["World", "world", "init_from_env", "exit_rank", "shard", "share_from_rank0", "save_graph",
           "load_graph", "launch", "SHARED_GRAPH_ENV"]

#: the environment variable through which ``graphclust run --nproc`` hands its ranks the
#: folder of the shared graph
SHARED_GRAPH_ENV = "GRAPHCLUST_SHARED_GRAPH"


@dataclass(frozen=True)
class World:
    """This process's rank and the number of ranks (1 without a process group)."""

    rank: int = 0
    size: int = 1

    def all_reduce_(self, t: torch.Tensor) -> torch.Tensor:
        """Sum ``t`` over the ranks, in place (a no-op for one rank); returns ``t``."""
        if self.size > 1:
            dist.all_reduce(t)
        return t

    def mean(self, value: float) -> float:
        """The mean of a number over the ranks (the number itself for one rank)."""
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t[0]) / self.size


def world() -> World:
    """The default process group's rank and size, or rank 0 of 1 when none is initialised."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def init_from_env(device: str = "auto") -> World:
    """Join the process group that ``torchrun`` describes in the environment (RANK,
    WORLD_SIZE, MASTER_ADDR, MASTER_PORT): NCCL when CUDA is used, else gloo. Without those
    variables (a plain single process) nothing is started."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2:
        return World()
    if not dist.is_initialized():
        cuda = device != "cpu" and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return world()


def exit_rank(status: int = 0) -> NoReturn:
    """End this rank's process with ``status``: destroy the default process group, flush
    logging and the standard streams, then ``os._exit(status)``.

    Why not a plain return: under torch 2.13, a gloo process group that
    :class:`~torch.nn.parallel.DistributedDataParallel` has used stays alive after
    ``destroy_process_group`` (its ``gloo_tcp_loop`` / ``pt_gloo_runloop`` threads keep
    running; without DDP they stop; pytorch/pytorch#107298), and the interpreter's teardown
    then destroys their thread objects and now and then aborts ("terminate called without
    an active exception", SIGABRT): measured, 2 of 61 runs of the 2-rank test, the result
    already written. ``os._exit`` after everything is written skips that teardown. Call it
    last, from the program a launcher started (the CLI's ranks do); it skips ``atexit``
    handlers."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to save
            pass
    os._exit(status)


def shard(batch: np.ndarray, w: World) -> np.ndarray:
    """This rank's part of a global batch: ``np.array_split`` into ``w.size`` near-equal
    consecutive parts (every part non-empty when ``len(batch) >= w.size``)."""
    if w.size == 1:
        return batch
    return np.array_split(batch, w.size)[w.rank]


# ------------------------------------------------------------------ shared arrays
def _save_value(folder: Path, key: str, value: Any) -> Any:
    """Write ``value`` (None, an array, a SciPy sparse matrix or a tuple of those) as
    ``.npy`` files under ``folder``; returns its description for :func:`_load_value`."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return {"tuple": [_save_value(folder, f"{key}.{i}", v) for i, v in enumerate(value)]}
    if sp.issparse(value):
        m = sp.csr_matrix(value)
        for part in ("data", "indices", "indptr"):
            np.save(folder / f"{key}.{part}.npy", getattr(m, part))
        return {"csr": key, "shape": list(m.shape)}
    np.save(folder / f"{key}.npy", np.asarray(value))
    return {"array": key}


def _load_value(folder: Path, desc: Any) -> Any:
    if desc is None:
        return None
    if "tuple" in desc:
        return tuple(_load_value(folder, d) for d in desc["tuple"])
    if "csr" in desc:
        parts = [np.load(folder / f"{desc['csr']}.{p}.npy", mmap_mode="r")
                 for p in ("data", "indices", "indptr")]
        return sp.csr_matrix(tuple(parts), shape=tuple(desc["shape"]), copy=False)
    return np.load(folder / f"{desc['array']}.npy", mmap_mode="r")


def share_from_rank0(compute: Callable[[], dict[str, Any]], w: World) -> dict[str, Any]:
    """``compute()`` on rank 0 only, its arrays handed to every rank as read-only
    memory-mapped files (one copy in the page cache, not one per process); one rank just
    computes. Values: None, arrays, SciPy sparse matrices, or tuples of those. The files
    are unlinked once every rank has mapped them (the mappings stay valid)."""
    if w.size == 1:
        return compute()
    message: list[Any] = [None]  # (folder, {key: description}) from rank 0
    if w.rank == 0:
        folder = Path(tempfile.mkdtemp(prefix="graphclust-shared-"))
        message = [(str(folder), {k: _save_value(folder, k, v) for k, v in compute().items()})]
    dist.broadcast_object_list(message, src=0)
    where, meta = message[0]
    out = {k: _load_value(Path(where), d) for k, d in meta.items()}
    dist.barrier()
    if w.rank == 0:
        shutil.rmtree(where, ignore_errors=True)
    return out


# ------------------------------------------------------------------ the shared graph
def save_graph(graph: Graph, folder: str | os.PathLike[str]) -> Path:
    """Write ``graph``'s arrays to ``folder`` as ``.npy`` files (CSR parts of the adjacency
    and of sparse features, dense features, labels) for :func:`load_graph`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    adj = sp.csr_matrix(graph.adjacency)
    arrays: dict[str, np.ndarray] = {"adj_data": adj.data, "adj_indices": adj.indices,
                                     "adj_indptr": adj.indptr}
    if sp.issparse(graph.features):
        x = sp.csr_matrix(graph.features)
        arrays.update(x_data=x.data, x_indices=x.indices, x_indptr=x.indptr)
    else:
        arrays["x"] = np.asarray(graph.features)
    if graph.labels is not None:
        arrays["labels"] = np.asarray(graph.labels)
    for key, value in arrays.items():
        np.save(folder / f"{key}.npy", value)
    meta = {"name": graph.name, "shape": list(adj.shape),
            "n_features": graph.n_features, "sparse_features": bool(sp.issparse(graph.features))}
    (folder / "graph.json").write_text(json.dumps(meta))
    return folder


def load_graph(folder: str | os.PathLike[str]) -> Graph:
    """The graph that :func:`save_graph` wrote, its arrays memory-mapped read-only."""
    folder = Path(folder)
    meta_file = folder / "graph.json"
    if not meta_file.is_file():
        raise ValueError(f"{folder} holds no shared graph (graph.json is missing); it is "
                         "written by graphclust.distributed.save_graph.")
    meta = json.loads(meta_file.read_text())

    def arr(key: str) -> np.ndarray:
        return np.load(folder / f"{key}.npy", mmap_mode="r")

    n, m = meta["shape"]
    adjacency = sp.csr_matrix((arr("adj_data"), arr("adj_indices"), arr("adj_indptr")),
                              shape=(n, m), copy=False)
    if meta["sparse_features"]:
        features: Any = sp.csr_matrix((arr("x_data"), arr("x_indices"), arr("x_indptr")),
                                      shape=(n, meta["n_features"]), copy=False)
    else:
        features = arr("x")
    labels = arr("labels") if (folder / "labels.npy").is_file() else None
    return Graph(features, adjacency, None if labels is None else np.asarray(labels),
                 name=meta["name"])


def launch(nproc: int, argv: list[str], graph: Graph, folder: str | os.PathLike[str]) -> int:
    """Run ``python -m graphclust.cli argv`` as ``nproc`` ranks on this machine through
    ``torch.distributed.run`` (torchrun), the graph shared from ``folder``; returns the
    exit status (the first failing rank's)."""
    save_graph(graph, folder)
    env = {**os.environ, SHARED_GRAPH_ENV: str(folder)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", "-m", "graphclust.cli", *argv]
    return subprocess.call(cmd, env=env)
