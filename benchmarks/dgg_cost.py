"""The cost of a DGG epoch against a VaDE epoch (issue target: at most 2.5x at N_s = 20).

``python benchmarks/dgg_cost.py --dataset mnist-test --epochs 5 [--neighbors 0 1 20 30]``

Both run the same autoencoder and batch size; the pre-training is cut to one epoch and the
neighbour search to the autoencoder's codes, since only the joint phase is timed: the
median wall time of its epochs (the first is dropped as warm-up). Labels are not read.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from graphclust import DGG, VaDE, load_dataset
from graphclust.runtime import tune_malloc


def joint_epoch_seconds(model, graph) -> float:
    stamps: list[float] = []

    def callback(phase, epoch, n_epochs, losses):
        if phase == "joint":
            stamps.append(time.perf_counter())

    model.epoch_callback = callback
    start = [0.0]
    original = model._train

    def train(phase, *args, **kwargs):
        if phase == "joint":
            start[0] = time.perf_counter()
        return original(phase, *args, **kwargs)

    model._train = train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(graph)
    times = np.diff([start[0], *stamps])
    return float(np.median(times[1:] if times.size > 1 else times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist-test")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--neighbors", type=int, nargs="+", default=[0, 20])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    g = load_dataset(args.dataset, k=0) if args.dataset.startswith("fashion") else load_dataset(args.dataset)
    common = dict(pretrain_epochs=1, n_epochs=args.epochs, n_init=1, random_state=0)
    vade = joint_epoch_seconds(VaDE(g.n_classes, **common), g)
    print(f"{args.dataset}: N={g.n_nodes}, D={g.n_features}, {torch.get_num_threads()} threads")
    print("| model | s / joint epoch | x VaDE |\n|---|---|---|")
    print(f"| VaDE | {vade:.2f} | 1.00 |", flush=True)
    for s in args.neighbors:
        dgg = joint_epoch_seconds(DGG(g.n_classes, n_neighbors=s, neighbor_space="code",
                                      classifier_epochs=1, **common), g)
        print(f"| DGG N_s={s} | {dgg:.2f} | {dgg / vade:.2f} |", flush=True)


if __name__ == "__main__":
    main()
