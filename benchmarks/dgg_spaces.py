"""What the spaces DGG works in hold before its joint phase: k-means and a diagonal GMM on the
pre-trained codes and on the Siamese embedding, spectral clustering of DGG's neighbour graph
(20 of the 100 nearest) and of plain k-NN graphs of the Siamese embedding, and UMAP + GMM
(N2D) on both spaces. Labels only score.

``python benchmarks/dgg_spaces.py --dataset mnist-test``   (needs umap-learn for the last rows)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.mixture import GaussianMixture

from graphclust import DGG, evaluate, load_dataset
from graphclust.neighbors import knn_graph


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist-test")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    g = load_dataset(args.dataset, k=0) if args.dataset.startswith("fashion") else load_dataset(args.dataset)
    spaces: dict[str, np.ndarray] = {}
    siamese = DGG._siamese_embedding

    def keep(self, ae, x, gen):  # read the two spaces as the fit makes them
        e = siamese(self, ae, x, gen)
        spaces["Siamese embedding"] = e.numpy().copy()
        with torch.no_grad():
            spaces["autoencoder codes"] = ae.encode(x)[-1].numpy().copy()
        return e

    DGG._siamese_embedding = keep  # type: ignore[method-assign]
    t0 = time.perf_counter()
    m = DGG(g.n_classes, random_state=args.seed, n_epochs=0, start="gmm").fit(g)
    print(f"{args.dataset}, seed {args.seed}: pre-training and Siamese {time.perf_counter() - t0:.0f} s")
    print("| what | ACC | NMI |\n|---|---|---|")

    def row(name, labels):
        r = evaluate(g.labels, labels)
        print(f"| {name} | {100 * r['acc']:.2f} | {100 * r['nmi']:.2f} |", flush=True)

    for name, z in spaces.items():
        row(f"k-means on the {name}", KMeans(g.n_classes, n_init=5, random_state=0).fit_predict(z))
        row(f"GMM (diagonal) on the {name}", GaussianMixture(
            g.n_classes, covariance_type="diag", n_init=3, random_state=0).fit_predict(z))
    w = m.neighbor_graph_
    graphs = {"DGG's neighbour graph (20 of 100)": ((w + w.T) > 0).astype(np.float64)}
    for k in (10, 20):
        graphs[f"{k}-NN graph of the Siamese embedding"] = knn_graph(
            spaces["Siamese embedding"], k, metric="heat")
    for name, a in graphs.items():
        row(f"spectral clustering of the {name}", SpectralClustering(
            g.n_classes, affinity="precomputed", random_state=0, n_init=10).fit_predict(a))
    try:
        import umap
    except ImportError:
        print("(umap-learn not installed: no UMAP rows)")
        return
    for name, z in spaces.items():
        r = umap.UMAP(n_components=g.n_classes, n_neighbors=20, min_dist=0.0,
                      random_state=0).fit_transform(z)
        row(f"UMAP + GMM on the {name}", GaussianMixture(
            g.n_classes, n_init=3, random_state=0).fit_predict(r))


if __name__ == "__main__":
    main()
