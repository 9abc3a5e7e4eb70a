"""k-means for the final clustering at scale: scikit-learn's KMeans (Lloyd, every point each
iteration) against MiniBatchKMeans (``kmeans_batch_size`` of DGI and GMIM).

    python benchmarks/kmeans_scale.py [--points 100000 1000000] [--dim 128] [--clusters 20]
        [--n-init 10] [--batch 4096] [--out results/kmeans-scale/kmeans.md]

Points: ``--clusters`` Gaussian blobs (``sklearn.datasets.make_blobs``, cluster_std 4 so they
overlap) in ``--dim`` dimensions, float32 like an embedding. Printed per size: seconds, the
inertia on all points, and the agreement (ACC after matching) of the two partitions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import make_blobs

from graphclust.metrics import evaluate


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--clusters", type=int, default=20)
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    lines = ["| points | dim | K | KMeans s | MiniBatchKMeans s | inertia ratio (mini / full) "
             "| agreement |", "|---|---|---|---|---|---|---|"]
    for n in args.points:
        x, _ = make_blobs(n, args.dim, centers=args.clusters, cluster_std=4.0, random_state=0)
        x = x.astype(np.float32)
        t = time.perf_counter()
        full = KMeans(args.clusters, n_init=args.n_init, random_state=0).fit(x)
        t_full = time.perf_counter() - t
        t = time.perf_counter()
        mini = MiniBatchKMeans(args.clusters, n_init=args.n_init, random_state=0,
                               batch_size=args.batch).fit(x)
        t_mini = time.perf_counter() - t
        inertia_mini = float(((x - mini.cluster_centers_[mini.labels_]) ** 2).sum())
        agree = evaluate(full.labels_, mini.labels_)["acc"]
        lines.append(f"| {n:,} | {args.dim} | {args.clusters} | {t_full:.1f} | {t_mini:.1f} | "
                     f"{inertia_mini / full.inertia_:.4f} | {agree:.4f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + f"\n\nn_init {args.n_init}, MiniBatchKMeans batch {args.batch}.\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
