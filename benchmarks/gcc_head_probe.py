"""Diagnostic: where GCC's labels lose what its representation holds (one fitted model).

    python benchmarks/gcc_probe.py --method gcc --dataset usps --save /tmp/gcc-usps.pt
    python benchmarks/gcc_head_probe.py /tmp/gcc-usps.pt [--dataset usps] [--fresh-heads 10]

On the clean inputs' backbone representation h of the saved estimator, prints: the trained
head's ACC (BatchNorm with its running statistics as fitted, and with statistics
recomputed on the clean inputs); k-means of h and of h / |h|; UMAP (N2D: to K dims, 20
neighbours) + GMM of h; the purity of h's 20 nearest neighbours and of A(t)'s lists;
spectral clustering of A(t) and of h's 10-NN graph (the cut AGC + CR approximates); a
linear probe (logistic regression, 3-fold); and fresh linear heads trained on the frozen h
with AGC + 2 CR or with SCAN's loss over A(t)'s lists, from ``--fresh-heads`` starts, sorted
by their final (label-free) loss. **Diagnostic only**: the labels score, the probe and the
sorting by ACC never feed back into a fit.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import cross_val_score
from torch.optim.swa_utils import update_bn

from graphclust import evaluate, load_dataset
from graphclust.nn.augment import resize_images
from graphclust.nn.graph_contrastive import agc_loss, cluster_regularizer


def acc(y: np.ndarray, labels: np.ndarray) -> float:
    return round(100 * evaluate(y, labels)["acc"], 2)


def encode(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model["backbone"](x[s:s + 1024]) for s in range(0, len(x), 1024)])


def fresh_head(h: torch.Tensor, lists: torch.Tensor, k: int, kind: str, seed: int,
               epochs: int = 60) -> tuple[float, np.ndarray]:
    """A new linear head on frozen h: (final loss over fixed batches, labels)."""
    torch.manual_seed(seed)
    head = torch.nn.Linear(h.shape[1], k)
    opt = torch.optim.Adam(head.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(seed)

    def loss_of(idx: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
        q1, q3 = torch.softmax(head(h[idx]), 1), torch.softmax(head(h[nb]), 1)
        if kind == "agc":
            return agc_loss(q1, q3, 1.0) + 2 * cluster_regularizer(q1)
        p = q1.mean(0)  # SCAN: neighbours agree; entropy of the mean assignment (weight 5)
        return (-torch.log((q1 * q3).sum(1).clamp_min(1e-8)).mean()
                + 5 * (p * p.clamp_min(1e-8).log()).sum())

    def draw(idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return lists[idx, torch.randint(lists.shape[1], (len(idx),), generator=g)]

    for _ in range(epochs):
        for idx in torch.randperm(len(h), generator=gen).split(256):
            loss = loss_of(idx, draw(idx, gen))
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        g2 = torch.Generator().manual_seed(123)
        total = sum(float(loss_of(idx, draw(idx, g2))) * len(idx)
                    for idx in torch.randperm(len(h), generator=g2).split(256))
        return total / len(h), head(h).argmax(1).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--dataset", default="usps")
    p.add_argument("--fresh-heads", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    est = torch.load(a.model, weights_only=False)
    g = load_dataset(a.dataset)
    y, k = g.labels, est.n_clusters
    x = torch.as_tensor(g.dense_features().astype(np.float32).reshape(-1, *g.meta["image_shape"]))
    if est.image_size is not None:
        x = resize_images(x, est.image_size)
    model = est.model_
    h = encode(model, x)
    print(f"| labels_ (the trained head kept) | {acc(y, est.labels_)} |")
    print("|---|---|")
    recomputed = copy.deepcopy(model)
    update_bn([x[s:s + 256] for s in range(0, len(x), 256)], recomputed["backbone"])
    h_bn = encode(recomputed, x)
    head = getattr(est, "head_", 0)
    q_bn = recomputed["cluster"](h_bn).view(len(x), -1, k)[:, head].argmax(1).numpy()
    print(f"| the same head, BatchNorm statistics recomputed on the clean inputs | {acc(y, q_bn)} |")
    hn = torch.nn.functional.normalize(h, dim=1)
    for name, f in (("k-means of h", h), ("k-means of h / abs(h)", hn)):
        print(f"| {name} | {acc(y, KMeans(k, n_init=5, random_state=0).fit_predict(f.numpy()))} |")
    try:
        import umap

        e = umap.UMAP(n_components=k, n_neighbors=20, min_dist=0.0,
                      random_state=0).fit_transform(h.numpy())
        lab = GaussianMixture(k, covariance_type="full", random_state=0).fit_predict(e)
        print(f"| UMAP (K dims, 20 neighbours) + GMM of h (N2D on h) | {acc(y, lab)} |")
    except ImportError:
        print("| UMAP + GMM of h | umap-learn not installed |")
    yt = torch.as_tensor(y)
    nbr = (hn @ hn.T).topk(21, dim=1).indices[:, 1:]
    lists = torch.as_tensor(est.neighbor_lists_)
    print(f"| purity of h's 20 nearest neighbours (cosine) | "
          f"{100 * (yt[nbr] == yt[:, None]).float().mean().item():.2f} |")
    print(f"| purity of A(t)'s lists (self included) | "
          f"{100 * (yt[lists] == yt[:, None]).float().mean().item():.2f} |")
    n = len(h)
    for name, nb in (("A(t)'s lists", lists[:, 1:]), ("h's 10 nearest neighbours", nbr[:, :10])):
        nb = nb.numpy()
        adj = sp.csr_matrix((np.ones(nb.size), (np.repeat(np.arange(n), nb.shape[1]),
                                                nb.ravel())), shape=(n, n))
        adj = ((adj + adj.T) > 0).astype(float)
        lab = SpectralClustering(k, affinity="precomputed", random_state=0,
                                 assign_labels="cluster_qr").fit_predict(adj)
        print(f"| spectral clustering of {name} (symmetrised) | {acc(y, lab)} |", flush=True)
    probe = cross_val_score(LogisticRegression(max_iter=2000), h.numpy(), y, cv=3).mean()
    print(f"| linear probe on h (logistic regression, 3-fold; uses labels) | {100 * probe:.2f} |")
    for kind in ("agc", "scan"):
        runs = sorted(fresh_head(h, lists, k, kind, s) for s in range(a.fresh_heads))
        shown = ", ".join(f"{acc(y, lab)}" for _, lab in runs)
        print(f"| fresh linear heads on frozen h, {kind.upper()} over A(t), {a.fresh_heads} "
              f"starts, ACC by rising loss | {shown} |", flush=True)


if __name__ == "__main__":
    main()
