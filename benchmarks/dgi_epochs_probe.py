"""Quality against epochs, width, k and lr of the DGI embedding on the scaling preset graph.

    python benchmarks/dgi_epochs_probe.py NODES HIDDEN LR PPR_K [THREADS]

Full-batch infomax training (gmim eq. 1, the encoder and S exactly as GMIM builds them) on
the degree-corrected csbm graph of ``benchmarks/scaling.py`` (20 classes, degree 20, 128
features, homophily 0.2, signal 0.3, seed 0); after 10, 20, 40, 80, 120 and 200 epochs it
prints the training loss and the ACC of k-means (3 starts) on the embedding: how many epochs
a large graph needs, and what hidden, ppr_k and lr cost in quality
(``benchmarks/scaling.toml`` cites it). Labels only score.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from sklearn.cluster import KMeans

from graphclust import evaluate, make_csbm
from graphclust.methods import GMIM
from graphclust.nn.infomax import InfomaxModel, infomax_loss

CHECKPOINTS = (10, 20, 40, 80, 120, 200)


def main() -> None:
    n, hidden, lr, k = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    g = make_csbm(n, 20, 20, 0.2, 128, 0.3, 0, degree_exponent=2.5)
    est = GMIM(20, random_state=0, ppr_k=k)
    est._check_params(g)
    t = time.perf_counter()
    x, s = est._prepare(g, torch.device("cpu"), np.random.default_rng(0))
    print(f"prepare {time.perf_counter() - t:.1f}s", flush=True)
    torch.manual_seed(0)
    model = InfomaxModel(x.shape[1], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for ep in range(1, max(CHECKPOINTS) + 1):
        pos, neg, _ = model(x, s, torch.randperm(n, generator=gen))
        loss = infomax_loss(pos, neg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if ep in CHECKPOINTS:
            train = time.perf_counter() - t
            with torch.no_grad():
                h = model.embed(x, s).numpy()
            acc = evaluate(g.labels, KMeans(20, n_init=3, random_state=0).fit(h).labels_)["acc"]
            print(f"n={n} hidden={hidden} lr={lr} k={k} epoch {ep}: loss {loss.item():.4f} "
                  f"acc {acc:.3f} train {train:.1f}s", flush=True)
            t = time.perf_counter()


if __name__ == "__main__":
    main()
