"""One rank of tests/test_distributed.py, started by ``torch.distributed.run`` (torchrun)
with 2 processes: the sharded M-step against the one-process M-step, then a mini-batch
GMIM fit on a generated graph shared through memory-mapped files. Rank 0 writes
``OUT/result.json``."""

import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from graphclust import GMIM
from graphclust.distributed import exit_rank, init_from_env, load_graph, shard
from graphclust.metrics import evaluate
from graphclust.mixture import e_step, init_from_labels, m_step


def main(folder: str, out: str, batch_size: int) -> None:
    w = init_from_env("cpu")
    assert w.size == 2, w
    # the EM statistics: the same H on every rank, each rank its half of the rows
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(501, 6, generator=gen, dtype=torch.float64) + torch.arange(6.0).double()
    params = init_from_labels(h, torch.arange(501) % 4, 4)
    resp, _ = e_step(h, params)
    rows = torch.as_tensor(shard(np.arange(501), w))
    sharded = m_step(h[rows], resp[rows], params, 1e-6, reduce=w.all_reduce_)
    whole = m_step(h, resp, params, 1e-6)
    em_diff = max(float((a - b).abs().max()) for a, b in zip(
        (sharded.weights, sharded.means, sharded.variances),
        (whole.weights, whole.means, whole.variances)))
    graph = load_graph(folder)
    modes: list[str] = []  # how the mini-batch products went (DGI logs it)

    class Modes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "mini-batch products by" in record.getMessage():
                modes.append(str(record.args[-1]))

    logging.getLogger("graphclust").addHandler(Modes())
    logging.getLogger("graphclust").setLevel(logging.INFO)
    model = GMIM(n_clusters=3, hidden=32, pretrain_epochs=60, patience=10, n_epochs=20,
                 n_init=3, batch_size=batch_size, random_state=0, device="cpu").fit(graph)
    acc = evaluate(graph.labels, model.labels_)["acc"]
    mapped = isinstance(graph.adjacency.data, np.memmap) or not graph.adjacency.data.flags.owndata
    labels = torch.as_tensor(model.labels_)
    other = labels.clone()
    torch.distributed.broadcast(other, src=1)
    if w.rank == 0:
        Path(out, "result.json").write_text(json.dumps({
            "em_diff": em_diff, "acc": acc, "ranks_agree": bool((labels == other).all()),
            "adjacency_mapped": bool(mapped), "epochs": model.n_iter_per_phase_,
            "modes": modes}))
    exit_rank(0)  # not a plain return: see exit_rank


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
