"""Our k-NN graph vs SDCN's shipped USPS k-NN graphs, side by side.

``python benchmarks/knn_vs_sdcn.py [--k 1 3 5 10]``: for each k, loads SDCN's
``usps{k}_graph.txt`` (symmetrised) and builds ours from the same features
(``knn_graph(x, k, metric="heat")``, the SDCN protocol: heat kernel = Euclidean order,
undirected), then prints edge counts, the Jaccard overlap of the edge sets and the
fraction of edges joining same-label nodes (homophily) of each.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp

from graphclust import load_dataset


def homophily(a: sp.csr_matrix, y: np.ndarray) -> float:
    coo = sp.triu(a, 1).tocoo()
    return float(np.mean(y[coo.row] == y[coo.col]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--k", type=int, nargs="*", default=[1, 3, 5, 10])
    args = p.parse_args()
    print("| k | SDCN edges | our edges | Jaccard | SDCN homophily | our homophily |")
    print("|---|---|---|---|---|---|")
    for k in args.k:
        theirs = load_dataset("usps", k=k)
        ours = load_dataset("usps", k=k, rebuild_knn=True)
        a = sp.triu(theirs.adjacency, 1).astype(bool).tocsr()
        b = sp.triu(ours.adjacency, 1).astype(bool).tocsr()
        inter = a.multiply(b).nnz
        jac = inter / (a.nnz + b.nnz - inter)
        print(f"| {k} | {a.nnz} | {b.nnz} | {jac:.3f} | "
              f"{homophily(theirs.adjacency, theirs.labels):.3f} | "
              f"{homophily(ours.adjacency, ours.labels):.3f} |")


if __name__ == "__main__":
    main()
