"""Does node order pay for the sparse products of a large graph? S @ B in three orders.

    python benchmarks/reorder_probe.py [--nodes 1000000] [--hidden 256] [--threads 2]

The one product every DGI/GMIM epoch repeats four times is S @ B: the top-k PPR S (N x N,
k entries a row) times an N x hidden block. Each stored entry (i, j) reads row j of B
(hidden x 4 bytes), so the bytes are N k hidden 4 when B's rows come from memory every
time and N hidden 4 (B once) plus N k 12 (S's column indices and values, once) when they
come from cache. On a generated graph the node ids are random, so neighbours' rows lie
anywhere in B; an order that numbers the nodes of one neighbourhood together (reverse
Cuthill-McKee on S's pattern, or nodes sorted by a coarse cluster) lets the rows a row of
S reads share cache lines and pages.

Builds the degree-corrected csbm graph of the scaling benchmark (degree 20, 128 features,
20 classes), S by push (k 64, eps 1e-4), then times ``bag_matmul`` (FBGEMM's
``embedding_bag``, the CPU kernel of ``FixedMatrix``) on S @ B for: the given order; RCM
(SciPy); the nodes sorted by their class (an oracle bound on what locality can give, for
scale only: it uses the labels). Prints ms per product, the GB/s the floor's bytes imply,
and the seconds RCM takes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import reverse_cuthill_mckee

from graphclust import make_csbm
from graphclust.diffusion import ppr_topk
from graphclust.nn.sparse import bag_matmul, csr_bags, to_torch


def timed(f, repeats: int) -> float:
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    g = make_csbm(args.nodes, 20, 20, 0.2, 128, 0.3, 0, degree_exponent=2.5)
    s = ppr_topk(g.adjacency, 0.2, k=64, eps=1e-4)
    print(f"N={args.nodes}, edges={g.n_edges}, nnz(S)={s.nnz}, graph + push "
          f"{time.perf_counter() - t:.1f} s, hidden={args.hidden}, threads={args.threads}",
          flush=True)
    t = time.perf_counter()
    rcm = reverse_cuthill_mckee(s.tocsr(), symmetric_mode=False)
    t_rcm = time.perf_counter() - t
    orders = {"given": None, f"RCM ({t_rcm:.1f} s)": rcm,
              "by class (oracle)": np.argsort(g.labels, kind="stable")}
    b = torch.randn(args.nodes, args.hidden)
    floor_bytes = args.nodes * args.hidden * 4 * 2 + s.nnz * 12  # B read, out written, S
    for name, perm in orders.items():
        m = s if perm is None else s[perm][:, perm]
        bags = csr_bags(to_torch(sp.csr_matrix(m), torch.device("cpu"), sparse_if_below=1.0))
        ms = timed(lambda bags=bags: bag_matmul(bags, b), args.repeats)
        print(f"  S @ B, {name:<22} {ms:9.1f} ms  ({floor_bytes / ms / 1e6:5.1f} GB/s of the "
              f"cached floor, {s.nnz * args.hidden * 4 / ms / 1e6:6.1f} GB/s of row reads)",
              flush=True)


if __name__ == "__main__":
    main()
