"""How the length of the autoencoder pre-training moves the start of VaDE and DGG: the
reconstruction loss per epoch (label-free) and, every ``--every`` epochs, the ACC / NMI of a
diagonal GMM on the codes (scored with labels, steering nothing).

``python benchmarks/ae_pretraining.py --dataset mnist-test --epochs 300 --every 50``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _phase_probe import probe  # noqa: E402  (benchmarks/ is the script's folder)
from sklearn.mixture import GaussianMixture

from graphclust import VaDE, evaluate, load_dataset
from graphclust.runtime import tune_malloc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist-test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--every", type=int, default=50)
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(2)
    g = load_dataset(args.dataset, k=0) if args.dataset.startswith("fashion") else load_dataset(args.dataset)
    x = torch.as_tensor(g.dense_features())
    m = VaDE(g.n_classes, random_state=args.seed, pretrain_epochs=args.epochs, n_epochs=0)
    t0 = time.perf_counter()
    print(f"autoencoder pre-training on {args.dataset}, seed {args.seed}")
    print("| epoch | recon loss | GMM ACC | GMM NMI | s |\n|---|---|---|---|---|")

    def score(ae, epoch, losses):
        with torch.no_grad():
            codes = ae.encode(x)[-1].numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = GaussianMixture(g.n_classes, covariance_type="diag", n_init=5,
                                     random_state=0).fit_predict(codes)
        r = evaluate(g.labels, labels)
        print(f"| {epoch + 1} | {losses['recon']:.2f} | {100 * r['acc']:.2f} | "
              f"{100 * r['nmi']:.2f} | {time.perf_counter() - t0:.0f} |", flush=True)

    probe(m, "pretrain", args.every, score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(g)
    recon = np.asarray(m.history_["pretrain/recon"])
    drops = [f"{e}: {100 * (recon[e - 10] - recon[e - 1]) / recon[e - 10]:.1f}%"
             for e in range(20, len(recon) + 1, 20)]
    print("\nrelative fall of the loss over the 10 epochs before epoch " + ", ".join(drops))


if __name__ == "__main__":
    main()
