"""One DGI/GMIM pre-training epoch on the scaling graph: node batches against the full batch.

    python benchmarks/scaling_epoch.py --nodes 1000000 [--batch-size 16384] [--malloc heap]

Builds the preset graph of ``benchmarks/scaling.py`` (degree-corrected csbm, 20 classes,
degree 20, 128 features, homophily 0.2, signal 0.3, seed 0) in reverse Cuthill-McKee order,
its S (top-32 PPR + rank-8 correction, GMIM's ``_propagation``), then times two epochs (after
one warm-up) of

* ``rows``: node batches of ``--batch-size`` on :class:`~graphclust.nn.sparse.BatchPropagation`
  (S X formed once, S X[perm] once an epoch), gradients accumulated, one Adam step an epoch
  (``batch_steps="epoch"``), then
* ``full``: the full-batch forward (four N x hidden sparse products an epoch),

printing seconds, kernel seconds and page faults per epoch and the process's peak RSS
so far (so the full batch's figure includes the batches' heap), and the floor of a ``rows``
epoch from measured rates (:func:`floor`). Measured at 10^6 nodes,
2 threads, malloc heap: propagation 153 s, rows 3.79 s/epoch (peak 6.2 GB), full
6.77 s/epoch (peak 18.1 GB); with glibc's mmapped blocks instead the full epoch took
18.5 s, most of it page faults.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch
from scaling import MALLOC_HELP, set_malloc  # benchmarks/scaling.py, beside this script

from graphclust import make_csbm
from graphclust.graph import rcm_order
from graphclust.methods import GMIM
from graphclust.nn.infomax import InfomaxModel, infomax_loss
from graphclust.nn.sparse import BatchPropagation, FixedMatrix, to_torch
from graphclust.preprocessing import row_normalize


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(name: str, epoch) -> None:
    epoch()  # warm-up: the heap grows to the step's size
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(2):
        epoch()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{name}: {(time.perf_counter() - t0) / 2:.2f} s/epoch, kernel "
          f"{(r1.ru_stime - r0.ru_stime) / 2:.2f} s, page faults {(r1.ru_minflt - r0.ru_minflt) // 2},"
          f" peak {peak_mb():.0f} MB", flush=True)


def rate(f, repeats: int = 5) -> float:
    """Seconds per call of ``f`` (after one warm-up call)."""
    f()
    t = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - t) / repeats


def floor(n: int, f: int, hidden: int, nnz: int, bs: int) -> float:
    """The floor of a ``rows`` epoch in seconds: its dense FLOPs at this machine's measured
    float32 GEMM rate (in the epoch's own shapes) plus the bytes of its one sparse product at
    the measured copy bandwidth.

    Dense: H_B = (S X)_B W for the clean and the corrupted rows, forward 2 x 2 B F hidden and
    the weight gradient (S X)_B^T G the same again, over N / B batches: 8 N F hidden FLOPs.
    Sparse: S X[perm] once an epoch, with perfect reuse of the rows it gathers: S's entries
    (4-byte value, 8-byte index), X read once, S X written once: 12 nnz + 8 N F bytes. The
    element-wise passes over a batch's (B, hidden) blocks are left out (a batch's blocks are
    16 MiB, in cache), and so is the rank-8 correction (2 x 8 N F FLOPs). A lower bound, not
    an estimate: the row gathers of a real sparse product do not reuse perfectly."""
    a, w = torch.randn(bs, f), torch.randn(f, hidden)
    g = torch.randn(bs, hidden)
    fwd = rate(lambda: a @ w)
    bwd = rate(lambda: a.T @ g)
    gemm = 2 * bs * f * hidden / fwd
    src = torch.empty(1 << 28)
    dst = torch.empty_like(src)
    src.fill_(1.0)
    bandwidth = 2 * src.numel() * 4 / rate(lambda: dst.copy_(src), 3)
    dense = 2 * (n / bs) * (fwd + bwd)
    sparse = (12 * nnz + 8 * n * f) / bandwidth
    print(f"floor: GEMM {gemm / 1e9:.0f} GFLOP/s (batch forward), copy {bandwidth / 1e9:.1f} GB/s;"
          f" dense {8 * n * f * hidden / 1e9:.0f} GFLOP = {dense:.2f} s, sparse"
          f" {(12 * nnz + 8 * n * f) / 1e9:.2f} GB = {sparse:.2f} s, floor {dense + sparse:.2f} s",
          flush=True)
    return dense + sparse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=16384)
    p.add_argument("--malloc", choices=["heap", "mmap32", "default"], default="mmap32",
                   help=MALLOC_HELP)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    set_malloc(args.malloc)
    torch.set_num_threads(args.threads)
    n, bs = args.nodes, args.batch_size
    g = make_csbm(n, 20, 20, 0.2, 128, 0.3, 0, degree_exponent=2.5)
    g = g.permuted(rcm_order(g.adjacency))
    est = GMIM(20, random_state=0, ppr_k=32, hidden=256)
    est._check_params(g)
    t = time.perf_counter()
    s, low = est._propagation(g, np.random.default_rng(0))
    print(f"propagation {time.perf_counter() - t:.1f} s, peak {peak_mb():.0f} MB", flush=True)
    cpu = torch.device("cpu")
    xn = row_normalize(g.features, only_nonnegative=True)
    model = InfomaxModel(g.n_features, 256)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    held = {"rows": BatchPropagation(s, xn, low, cpu, bs)}  # cleared before the full batch

    def rows_epoch() -> None:
        rows = held["rows"]
        rows.set_corruption(torch.randperm(n, generator=gen).numpy())
        opt.zero_grad()
        order = torch.randperm(n, generator=gen).numpy()
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            pos, neg, _ = model.forward_batch(rows, idx)
            (infomax_loss(pos, neg) * (len(idx) / n)).backward()
        opt.step()

    timed(f"rows ({held['rows'].mode}), batches of {bs}", rows_epoch)
    floor(n, g.n_features, 256, s.nnz, bs)
    held.clear()
    x = FixedMatrix(to_torch(xn, cpu))
    factors = None if low is None else (torch.as_tensor(low[0]), torch.as_tensor(low[1]))
    sm = FixedMatrix(to_torch(s, cpu), factors)

    def full_epoch() -> None:
        pos, neg, _ = model(x, sm, torch.randperm(n, generator=gen))
        opt.zero_grad()
        infomax_loss(pos, neg).backward()
        opt.step()

    timed("full batch", full_epoch)


if __name__ == "__main__":
    main()
