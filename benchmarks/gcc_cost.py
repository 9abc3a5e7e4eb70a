"""The cost of GCC's epochs and of rebuilding its graph A(t), to size the backbone for CPU.

``python benchmarks/gcc_cost.py --dataset usps --epochs 4 [--set channels=(16,32,64) ...]``

Runs ``--epochs`` epochs (half warm-up, half GCC epochs with the graph rebuilt every epoch)
and prints the median seconds of a warm-up epoch (two views) and of a GCC epoch (three views
and the three losses), the seconds of one A(t) build with the exact torch search and with
faiss (when installed) on the same memory, and what 100 epochs would take. Labels are not read.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from graphclust import GCC, load_dataset
from graphclust.cli import _parse_value
from graphclust.neighbors import knn_indices
from graphclust.runtime import tune_malloc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="usps")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    params = {k: _parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    g = load_dataset(args.dataset)
    warm = max(args.epochs // 2, 1)
    m = GCC(g.n_classes, random_state=0, n_epochs=args.epochs, warmup_epochs=warm,
            graph_every=1, **params)
    stamps: list[float] = []
    m.epoch_callback = lambda phase, epoch, n, losses: stamps.append(time.perf_counter())
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(g)
    # the first stamp follows epoch 0, whose start is the fit's (after the inputs are built)
    ends = np.array(stamps)
    starts = np.concatenate([[t0], ends[:-1]])
    secs = ends - starts
    print(f"GCC on {args.dataset} ({g.n_nodes} samples), backbone {m.backbone_}, {params or 'defaults'}")
    print(f"warm-up epoch: {np.median(secs[1:warm]) if warm > 1 else secs[0]:.1f} s; GCC epoch "
          f"(incl. its A(t) build): {np.median(secs[warm:]):.1f} s")
    mem = torch.as_tensor(m.embedding_)
    for backend in ("torch", "faiss"):
        try:
            t = time.perf_counter()
            knn_indices(mem.numpy(), m.n_neighbors, metric="cosine", backend=backend)
            print(f"A(t) search, {backend}: {time.perf_counter() - t:.2f} s "
                  f"({mem.shape[0]} x {mem.shape[1]})")
        except ImportError as err:
            print(f"A(t) search, {backend}: not installed ({err})")
    print(f"GCC builds in the fit: {', '.join(f'{s:.2f}' for s in m.graph_seconds_)} s")
    est = 0.1 * 100 * np.median(secs[1:warm] if warm > 1 else secs[:1]) + 0.9 * 100 * np.median(secs[warm:])
    print(f"100 epochs (10 warm-up): ~{est / 60:.1f} min")


if __name__ == "__main__":
    main()
