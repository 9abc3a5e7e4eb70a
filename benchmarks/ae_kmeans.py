"""The AE baseline of AGCN's Table 3: k-means on the pre-trained autoencoder's embedding.

``python benchmarks/ae_kmeans.py [--datasets acm dblp] [--seeds 3] [--epochs 30 [100 ...]]``

AGCN and SDCN start their joint phase from exactly this state (the pre-trained AE and
k-means centres on its embedding), so comparing it with the paper's "AE" column tells
whether a gap in the AGCN row comes from the pre-training or from the joint phase.
Same pre-training as :class:`graphclust.AGCN` (d-500-500-2000-10, Adam lr 1e-3, batch
256, 30 epochs; k-means with 20 restarts). Labels only score the result.

Several ``--epochs`` values score one pre-training run at each of those epoch counts
(training continues, Adam state and all, up to the largest), to show whether a longer
pre-training than the paper's 30 epochs would start the joint phase elsewhere; the
reconstruction loss beside each row is the label-free view of the same question.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans

from graphclust import Graph, evaluate, load_dataset
from graphclust.nn.autoencoder import Autoencoder, pretrain_autoencoder

PAPER_AE = {  # agcn.txt Table 3, column "AE": ACC / NMI / ARI / F1
    "acm": (81.83, 49.30, 54.64, 82.01),
    "dblp": (51.43, 25.40, 12.21, 52.53),
    "cite": (57.08, 27.64, 29.31, 53.80),
}


def pretrain_and_score(g: Graph, x: torch.Tensor, seed: int,
                       checkpoints: list[int]) -> list[tuple[dict[str, float], float, float]]:
    """One pre-training run up to max(checkpoints) epochs; (scores, recon MSE, seconds) at each."""
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    ae = Autoencoder(x.shape[1], (500, 500, 2000, 10))
    out = []

    def score(epoch: int, loss: float) -> None:
        if epoch + 1 in checkpoints:
            with torch.no_grad():
                h = ae.encode(x)[-1].numpy()
            pred = KMeans(g.n_classes, n_init=20, random_state=seed).fit_predict(h)
            out.append((evaluate(g.labels, pred), loss, time.perf_counter() - t0))

    pretrain_autoencoder(ae, x, epochs=checkpoints[-1], batch_size=256, lr=1e-3,
                         generator=torch.Generator().manual_seed(seed), on_epoch=score)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="*", default=["acm", "dblp"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, nargs="+", default=[30])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    checkpoints = sorted(set(args.epochs))
    if checkpoints[0] < 1:
        p.error(f"--epochs must be positive epoch counts but got {args.epochs}")
    print(f"AE pre-training + k-means, {args.seeds} seeds, scored after "
          f"{', '.join(map(str, checkpoints))} epochs")
    print("| dataset | epochs | ACC | NMI | ARI | F1 | recon MSE | paper (AE) | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        g = load_dataset(name)
        feats = g.features.toarray() if sp.issparse(g.features) else g.features
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32))
        scores: dict[int, list[dict[str, float]]] = {c: [] for c in checkpoints}
        losses: dict[int, list[float]] = {c: [] for c in checkpoints}
        secs: dict[int, list[float]] = {c: [] for c in checkpoints}
        for seed in range(args.seeds):
            for c, (score, loss, sec) in zip(checkpoints, pretrain_and_score(g, x, seed, checkpoints)):
                scores[c].append(score)
                losses[c].append(loss)
                secs[c].append(sec)
        paper = " / ".join(f"{v:.2f}" for v in PAPER_AE.get(name, ()))
        for c in checkpoints:
            cells = [f"{100 * np.mean([s[m] for s in scores[c]]):.2f} ± "
                     f"{100 * np.std([s[m] for s in scores[c]]):.2f}"
                     for m in ("acc", "nmi", "ari", "f1")]
            print(f"| {name} | {c} | " + " | ".join(cells) + f" | {np.mean(losses[c]):.5f} | "
                  f"{paper or '–'} | {np.mean(secs[c]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
