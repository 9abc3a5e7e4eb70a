"""The AE baseline of AGCN's Table 3: k-means on the pre-trained autoencoder's embedding.

``python benchmarks/ae_kmeans.py [--datasets acm dblp] [--seeds 3] [--epochs 30]``

AGCN and SDCN start their joint phase from exactly this state (the pre-trained AE and
k-means centres on its embedding), so comparing it with the paper's "AE" column tells
whether a gap in the AGCN row comes from the pre-training or from the joint phase.
Same pre-training as :class:`graphclust.AGCN` (d-500-500-2000-10, Adam lr 1e-3, batch
256, 30 epochs; k-means with 20 restarts). Labels only score the result.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans

from graphclust import evaluate, load_dataset
from graphclust.nn.autoencoder import Autoencoder, pretrain_autoencoder

PAPER_AE = {  # agcn.txt Table 3, column "AE": ACC / NMI / ARI / F1
    "acm": (81.83, 49.30, 54.64, 82.01),
    "dblp": (51.43, 25.40, 12.21, 52.53),
    "cite": (57.08, 27.64, 29.31, 53.80),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="*", default=["acm", "dblp"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"AE ({args.epochs} pre-training epochs) + k-means, {args.seeds} seeds")
    print("| dataset | ACC | NMI | ARI | F1 | paper (AE) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name in args.datasets:
        g = load_dataset(name)
        feats = g.features.toarray() if sp.issparse(g.features) else g.features
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32))
        scores, secs = [], []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            t0 = time.perf_counter()
            ae = Autoencoder(x.shape[1], (500, 500, 2000, 10))
            pretrain_autoencoder(ae, x, epochs=args.epochs, batch_size=256, lr=1e-3,
                                 generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                h = ae.encode(x)[-1].numpy()
            pred = KMeans(g.n_classes, n_init=20, random_state=seed).fit_predict(h)
            secs.append(time.perf_counter() - t0)
            scores.append(evaluate(g.labels, pred))
        cells = [f"{100 * np.mean([s[m] for s in scores]):.2f} ± "
                 f"{100 * np.std([s[m] for s in scores]):.2f}" for m in ("acc", "nmi", "ari", "f1")]
        paper = " / ".join(f"{v:.2f}" for v in PAPER_AE.get(name, ()))
        print(f"| {name} | " + " | ".join(cells) + f" | {paper or '–'} | {np.mean(secs):.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
