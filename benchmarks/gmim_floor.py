"""Where a GMIM run on Cora spends its time, and the floor the propagation sets.

    python benchmarks/gmim_floor.py [--dataset cora] [--threads 2] [--repeats 20]

The GMIM issue asks for one whole Cora run in under 15 s on 2 CPU cores. Every epoch
(pre-training and joint) multiplies the fixed diffusion S by an (N, hidden) matrix four
times: forward for the clean and the corrupted graph, and S^T for both in the backward
pass. This script builds S exactly as GMIM does (top-k PPR, the defaults), times that
product with every CPU kernel at hand (torch CSR with 1 and 2 threads, torch COO, SciPy
CSR, torch CSR after a reverse Cuthill-McKee reordering, dense S, and the weighted
``embedding_bag`` that ``FixedMatrix`` uses on CPU) and multiplies the best
by 4 x the epochs of a default run (pre-training epochs are read from a real run's early
stopping; pass --pretrain-epochs to skip that run). The result is a lower bound on a run's
time from the propagation alone: X W, PReLU, Adam, EM and k-means come on top.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import reverse_cuthill_mckee

from graphclust import load_dataset
from graphclust.methods.gmim import GMIM
from graphclust.nn.sparse import bag_matmul, csr_bags, to_torch


def timed(f: Callable[[], object], repeats: int) -> float:
    """Mean milliseconds of f() over ``repeats`` calls, after one warm-up call."""
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cora")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--pretrain-epochs", type=int, default=None,
                   help="skip the real run and assume this many pre-training epochs")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    graph = load_dataset(args.dataset, download=False)
    model = GMIM(int(graph.labels.max()) + 1 if graph.labels is not None else 7, random_state=0)
    model._check_params(graph)
    _, s = model._prepare(graph, torch.device("cpu"))
    n, hidden = s.shape[0], model.hidden
    s_csr = s.s
    scipy_s = sp.csr_matrix((s_csr.values().numpy(), s_csr.col_indices().numpy(),
                             s_csr.crow_indices().numpy()), shape=s.shape)
    b = torch.randn(n, hidden)
    print(f"{args.dataset}: N={n}, nnz(S)={scipy_s.nnz} ({scipy_s.nnz / n:.1f} per node), "
          f"hidden={hidden}, threads={args.threads}")

    perm = reverse_cuthill_mckee(scipy_s, symmetric_mode=False)
    rcm = to_torch(scipy_s[perm][:, perm], torch.device("cpu"), sparse_if_below=1.0)
    coo = s_csr.to_sparse_coo()
    dense = s_csr.to_dense()
    bags = csr_bags(s_csr)
    b_np = b.numpy()
    kernels: dict[str, Callable[[], object]] = {
        "torch CSR": lambda: s_csr @ b,
        "embedding_bag (FBGEMM)": lambda: bag_matmul(bags, b),
        "torch CSR, RCM order": lambda: rcm @ b,
        "torch COO": lambda: torch.sparse.mm(coo, b),
        "SciPy CSR (1 thread)": lambda: scipy_s @ b_np,
        "dense S": lambda: dense @ b,
    }
    ms = {}
    for name, f in kernels.items():
        ms[name] = timed(f, max(3, args.repeats // 4) if name == "dense S" else args.repeats)
        print(f"  S @ B ({n} x {hidden}), {name:<22} {ms[name]:8.2f} ms")
    torch.set_num_threads(1)
    one = timed(lambda: s_csr @ b, args.repeats)
    one_bag = timed(lambda: bag_matmul(bags, b), args.repeats)
    torch.set_num_threads(args.threads)
    print(f"  S @ B, torch CSR with 1 thread     {one:8.2f} ms")
    print(f"  S @ B, embedding_bag with 1 thread {one_bag:8.2f} ms")
    best_name = min(ms, key=ms.__getitem__)
    rate = 2 * scipy_s.nnz * hidden / (ms[best_name] / 1000) / 1e9

    if args.pretrain_epochs is None:
        start = time.perf_counter()
        fitted = GMIM(model.n_clusters, random_state=0).fit(graph)
        total = time.perf_counter() - start
        pre = fitted.n_iter_per_phase_["pretrain"]
        print(f"a default GMIM run (seed 0): {total:.1f} s, {pre} pre-training epochs "
              f"(early stopping) + {fitted.n_epochs} joint epochs")
    else:
        pre = args.pretrain_epochs
    epochs = pre + model.n_epochs
    floor = 4 * epochs * ms[best_name] / 1000
    print(f"best kernel: {best_name}, {ms[best_name]:.2f} ms = {rate:.1f} GFLOP/s")
    print(f"floor from the propagation alone: 4 x {epochs} epochs x {ms[best_name]:.2f} ms "
          f"= {floor:.1f} s")


if __name__ == "__main__":
    main()
