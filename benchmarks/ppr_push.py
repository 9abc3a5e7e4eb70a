"""Push PPR against the exact PPR and against the block power iteration; push at scale.

``python benchmarks/ppr_push.py agreement [--datasets cora pubmed]``: per dataset and eps,
the mean (and 5th percentile) over rows of the overlap between push's top-64 and the exact
PPR's top-64 (a row's exact non-zeros when it has fewer; exact = :func:`ppr_exact`, dense),
and the seconds of push and of the power iteration at the same eps.

``python benchmarks/ppr_push.py scale --nodes 1000000 [--degree 20] [--eps 1e-4] [--k 64]``:
push on a degree-corrected csbm graph (power-law degrees, exponent 2.5): seconds of the
graph's generation and of the push (numba compile excluded: a warm-up on a small graph
first), peak RSS. The issue's target: 1M nodes / 10M edges at eps 1e-4, k 64 in <= 3 min
on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.sparse as sp


def overlap(exact: np.ndarray, order: np.ndarray, s: sp.csr_matrix) -> tuple[float, float]:
    """Mean and 5th percentile over rows of |top-k of s ∩ exact top-k| / |exact top-k|."""
    o = np.empty(exact.shape[0])
    for i in range(exact.shape[0]):
        want = order[i][exact[i, order[i]] > 1e-7]
        o[i] = np.isin(want, s.indices[s.indptr[i]:s.indptr[i + 1]]).mean()
    return float(o.mean()), float(np.quantile(o, 0.05))


def agreement(datasets: list[str], k: int) -> None:
    from graphclust import load_dataset
    from graphclust.diffusion import ppr_exact, ppr_push, ppr_topk

    ppr_push(np.eye(4), k=2)  # compile (or load the cache) outside the timings
    print("| graph | nodes | eps | push top-64 overlap (mean, 5th pct) | push s | power overlap | power s |")
    print("|---|---|---|---|---|---|---|")
    for name in datasets:
        g = load_dataset(name, structure_only=name == "pubmed")
        exact = ppr_exact(g.adjacency, 0.2, max_dense_gb=8)
        order = np.argsort(-exact, axis=1)[:, :k]

        for eps in (1e-4, 1e-5):
            t = time.perf_counter()
            s_push = ppr_push(g.adjacency, 0.2, k=k, eps=eps)
            t_push = time.perf_counter() - t
            t = time.perf_counter()
            s_pow = ppr_topk(g.adjacency, 0.2, k=k, eps=eps, method="power")
            t_pow = time.perf_counter() - t
            (m1, q1), (m2, q2) = overlap(exact, order, s_push), overlap(exact, order, s_pow)
            print(f"| {name} | {g.n_nodes} | {eps:g} | {m1:.3f} ({q1:.3f}) | {t_push:.2f} | "
                  f"{m2:.3f} ({q2:.3f}) | {t_pow:.2f} |", flush=True)


def scale(nodes: int, degree: float, eps: float, k: int) -> None:
    from graphclust import make_csbm
    from graphclust.diffusion import ppr_push

    ppr_push(np.eye(4), k=2)
    t = time.perf_counter()
    g = make_csbm(nodes, 20, degree, 0.7, 1, 1.0, 0, degree_exponent=2.5)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    s = ppr_push(g.adjacency, 0.2, k=k, eps=eps)
    t_push = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    d = np.diff(g.adjacency.indptr)
    print(f"nodes={nodes} edges={g.n_edges} max_degree={d.max()} eps={eps:g} k={k} "
          f"generate_s={t_gen:.1f} push_s={t_push:.1f} nnz={s.nnz} peak_mb={peak:.0f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["agreement", "scale"])
    p.add_argument("--datasets", nargs="+", default=["cora", "pubmed"])
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--degree", type=float, default=20.0)
    p.add_argument("--eps", type=float, default=1e-4)
    p.add_argument("--k", type=int, default=64)
    a = p.parse_args()
    if a.what == "agreement":
        agreement(a.datasets, a.k)
    else:
        scale(a.nodes, a.degree, a.eps, a.k)


if __name__ == "__main__":
    main()
