"""DGG's Fig. 1: DGG and VaDE on two interleaved half circles, side by side (PNG).

``python benchmarks/dgg_moons.py --out results/dgg-moons/moons.png``

Paper (section 4.1): 2 x 2000 points, encoder and decoder 2-20-20-2, classifier 2-2,
40 nearest neighbours weighted by eq. 32, Adam 0.02 times 0.9 every 10 epochs, VaDE with the
same networks and schedule. What the paper leaves open, chosen here: radius 1, noise std
0.05, vertical gaps 0 (scikit-learn's moons) and 0.3 between the halves (the paper draws two
distances), neighbours found in the input space (2-D: no Siamese network), autoencoder
pre-training 30 epochs without masking noise (masking a 2-D point removes half of it),
60 joint epochs, batches of 200, a Gaussian likelihood. Seeds as given; labels only colour
and score the panels.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from graphclust import DGG, VaDE, evaluate  # noqa: E402
from graphclust.datasets.synthetic import make_moons  # noqa: E402

SHARED = dict(widths=(20, 20, 2), pretrain_epochs=30, pretrain_min_steps=0,
              pretrain_noise=0.0, n_epochs=60,
              batch_size=200, lr=0.02, lr_step=10, lr_gamma=0.9, likelihood="gaussian")
DGG_ONLY = dict(n_neighbors=40, n_candidates=40, neighbor_space="input", affinity="gaussian",
                classifier_hidden=(), start="spectral")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/dgg-moons/moons.png")
    p.add_argument("--gaps", type=float, nargs="+", default=[0.0, 0.3])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    fig, axes = plt.subplots(len(args.gaps), 4, figsize=(16, 4 * len(args.gaps)), squeeze=False)
    for row, gap in zip(axes, args.gaps):
        g = make_moons(2000, noise=0.05, gap=gap, random_state=args.seed)
        for col, (name, cls, extra) in enumerate([("VaDE", VaDE, {}), ("DGG", DGG, DGG_ONLY)]):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = cls(2, random_state=args.seed, **SHARED, **extra).fit(g)
            acc = 100 * evaluate(g.labels, m.labels_)["acc"]
            print(f"gap {gap}: {name} ACC {acc:.1f} ({time.perf_counter() - t0:.0f} s)", flush=True)
            ax, lat = row[2 * col], row[2 * col + 1]
            ax.scatter(*g.features.T, c=m.labels_, s=3, cmap="coolwarm")
            ax.set_title(f"{name}, gap {gap}: clusters (ACC {acc:.1f})")
            lat.scatter(*m.embedding_.T, c=m.labels_, s=3, cmap="coolwarm")
            lat.set_title(f"{name}: latent means mu(x)")
            for a in (ax, lat):
                a.set_xticks([])
                a.set_yticks([])
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
