"""Memory and time of GMIM on generated csbm graphs (PubMed-sized and larger).

``python benchmarks/scale.py --nodes 19717 --features 500 --classes 3 --edges 44324 [--ppr-k 64|exact]``
runs one GMIM fit in this process (``--ppr-rank``, default 8, as GMIM's ``ppr_rank``) and prints seconds and peak RSS (MB). PubMed's own
features are not in the shared data, so this proves the path at PubMed's size.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=19717)
    p.add_argument("--features", type=int, default=500)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--edges", type=int, default=44324)
    p.add_argument("--ppr-k", default="64")
    p.add_argument("--ppr-rank", type=int, default=8, help="low-rank part of S (GMIM ppr_rank)")
    p.add_argument("--hidden", type=int, default=256)        # paper: 256 on PubMed
    p.add_argument("--epochs", type=int, default=1000)       # paper: 1000 on PubMed
    p.add_argument("--pretrain-epochs", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mmap-threshold", type=int, default=8 << 20,
                   help="glibc mmap threshold in bytes; the CLI's malloc settings (tune_malloc) with it; 0 = glibc default")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.mmap_threshold:
        from graphclust.runtime import tune_malloc

        assert tune_malloc(a.mmap_threshold)
    from graphclust import GMIM, evaluate, make_csbm

    g = make_csbm(n_nodes=a.nodes, n_classes=a.classes, avg_degree=2 * a.edges / a.nodes,
                  homophily=0.8, n_features=a.features, feature_signal=1.0, random_state=0)
    k = None if a.ppr_k == "exact" else int(a.ppr_k)
    t0 = time.perf_counter()
    m = GMIM(a.classes, hidden=a.hidden, n_epochs=a.epochs, pretrain_epochs=a.pretrain_epochs,
             ppr_k=k, ppr_rank=a.ppr_rank, max_dense_gb=20, random_state=0).fit(g)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"nodes={g.n_nodes} edges={g.n_edges} ppr_k={a.ppr_k} ppr_rank={a.ppr_rank} mmap_threshold="
          f"{a.mmap_threshold} seconds={secs:.1f} "
          f"peak_mb={peak:.0f} acc={evaluate(g.labels, m.labels_)['acc']:.3f}")


if __name__ == "__main__":
    main()
