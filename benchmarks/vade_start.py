"""Where VaDE's and DGG's points go: the pre-trained start (GMM on the autoencoder codes)
against the last epoch, per seed, with the number of non-empty clusters and the smallest
prior weight; for DGG also the neighbour purity (the weighted fraction of w_ij linking two
samples of one class) and the classifier's agreement with the start.

``python benchmarks/vade_start.py [--method dgg] --dataset mnist-test --seeds 0 1 [--set n_epochs=100 ...]``

Labels only score (the start's and the end's ACC / NMI, the purity); nothing is selected by them.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from graphclust import DGG, VaDE, evaluate, load_dataset
from graphclust.cli import _parse_value
from graphclust.runtime import tune_malloc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=["vade", "dgg"], default="vade")
    p.add_argument("--dataset", default="mnist-test")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    params = {k: _parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    g = load_dataset(args.dataset, k=1) if args.dataset.startswith("fashion") else load_dataset(args.dataset)
    cls = {"vade": VaDE, "dgg": DGG}[args.method]
    print(f"{cls.__name__} on {args.dataset}, {params or 'defaults'}")
    print("| seed | start ACC / NMI | final ACC / NMI | non-empty | min weight | "
          "purity | agreement | s |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = cls(g.n_classes, random_state=seed, **params).fit(g)
        start = evaluate(g.labels, m.pretrain_labels_)
        end = evaluate(g.labels, m.labels_)
        collapsed = any("collapsed" in str(w.message) for w in caught)
        purity = agreement = "-"
        if hasattr(m, "neighbor_graph_") and m.neighbor_graph_.nnz:
            w = m.neighbor_graph_.tocoo()
            same = g.labels[w.row] == g.labels[w.col]
            purity = f"{100 * float((w.data * same).sum() / w.data.sum()):.1f}"
        if hasattr(m, "classifier_agreement_"):
            agreement = f"{100 * m.classifier_agreement_:.1f}"
        print(f"| {seed} | {100 * start['acc']:.2f} / {100 * start['nmi']:.2f} | "
              f"{100 * end['acc']:.2f} / {100 * end['nmi']:.2f} | {m.n_nonempty_}"
              f"{' (warned)' if collapsed else ''} | {np.min(m.weights_):.4f} | {purity} | {agreement} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
