"""How much arithmetic one AGCN run needs, and how fast this machine's matmul is.

    python benchmarks/agcn_flops.py [--datasets acm dblp cite usps] [--threads 2]

The AGCN issue asks for one ACM run under 60 s on 2 CPU cores. This script shows whether
any implementation of the paper's model can do that here: it counts the floating-point
operations of one run (AE pre-training + the joint iterations, forward and backward, with
the first layer's input sparse where the features are) from the loaded dataset's sizes
and the paper's widths, then times a dense matmul in float32 and in bfloat16 (AGCN's
``mixed_precision``), the best case for that work. The lower bound on a run's time is
FLOPs / matmul rate. Counting convention: a dense
(n x a) @ (a x b) product is 2nab FLOP, a sparse one 2 nnz b; backward ~ 2x forward.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch

from graphclust import load_dataset

WIDTHS = (500, 500, 2000, 10)  # AGCN section 4.2: d-500-500-2000-10


def run_flops(n: int, d: int, x_nnz: int, adj_nnz: int, iters: int = 200,
              pre_epochs: int = 30) -> tuple[float, float]:
    """FLOPs of (pre-training, joint training) for n nodes, d features."""
    dims = [d, *WIDTHS]
    enc = sum(2 * (x_nnz if a == d else n * a) * b for a, b in zip(dims[:-1], dims[1:]))
    dec = sum(2 * n * a * b for a, b in zip(dims[::-1][:-1], dims[::-1][1:]))
    # GCN layers: the same widths as the encoder (X W), then A (XW) with the sparse A
    gcn = enc + sum(2 * adj_nnz * b for b in WIDTHS)
    pre = pre_epochs * 3 * (enc + dec)
    joint = iters * 3 * (enc + dec + gcn)
    return pre, joint


def matmul_rate(threads: int, dtype: torch.dtype = torch.float32) -> float:
    """Dense matmul rate in GFLOP/s (3000x2000 @ 2000x2000) in ``dtype``."""
    torch.set_num_threads(threads)
    a, b = torch.randn(3000, 2000).to(dtype), torch.randn(2000, 2000).to(dtype)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(20):
        a @ b
    return 20 * 2 * 3000 * 2000 * 2000 / (time.perf_counter() - t) / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="*", default=["acm", "dblp", "cite", "usps"])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    rate = matmul_rate(args.threads)
    rate16 = matmul_rate(args.threads, torch.bfloat16)
    print(f"dense matmul, {args.threads} threads: float32 {rate:.1f} GFLOP/s, "
          f"bfloat16 {rate16:.1f} GFLOP/s\n")
    print("| dataset | nodes | features | feature nnz | GFLOP / iteration | TFLOP / run "
          "| lower bound, float32 | lower bound, bfloat16 |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        g = load_dataset(name)
        x = g.features
        x_nnz = x.nnz if sp.issparse(x) else int(np.count_nonzero(x))
        n, d = x.shape
        pre, joint = run_flops(n, d, x_nnz, g.adjacency.nnz + n)
        total = pre + joint
        print(f"| {name} | {n} | {d} | {x_nnz} | {joint / 200 / 1e9:.1f} | "
              f"{total / 1e12:.1f} | {total / (rate * 1e9):.0f} s | {total / (rate16 * 1e9):.0f} s |")


if __name__ == "__main__":
    main()
