"""AGCN's label-free stopping rule (``stop_tol``), replayed over a grid from one fit per seed.

    python benchmarks/agcn_stop.py --dataset acm --seeds 0 1 2 3 4 5 6 7 8 9
        [--table agcn-table3] [--tols 0.0005 0.001 0.002 0.005 0.01] [--every 1 5]

Each seed fits the table row's AGCN once with ``keep_label_history=True``; DEC's rule only
reads the labels, so :func:`~graphclust.methods.agcn.dec_stop_epoch` on that history gives
exactly where a fit with ``stop_tol=tol, stop_every=every`` would have stopped and the
labels it would have ended with (tests/test_agcn.py checks this against a stopped fit).
Prints, per (tol, every): the stop iteration (mean; runs where it never fired count as the
full budget), ACC there (mean ± std), beside the final iteration's ACC and the best
iteration's (oracle: the authors' protocol, chosen by labels). Labels only score.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from agcn_start import agcn_row  # benchmarks/ is on sys.path when run as a script

from graphclust import AGCN, evaluate, load_dataset
from graphclust.methods.agcn import dec_stop_epoch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default="agcn-table3")
    p.add_argument("--dataset", default="acm")
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    p.add_argument("--tols", type=float, nargs="+", default=[0.0005, 0.001, 0.002, 0.005, 0.01])
    p.add_argument("--every", type=int, nargs="+", default=[1, 5])
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    row = agcn_row(a.table, a.dataset)
    g = load_dataset(a.dataset, **row.get("dataset_kwargs", {}))
    histories = []
    for seed in a.seeds:
        m = AGCN(g.n_classes, random_state=seed, keep_label_history=True, **row["params"]).fit(g)
        histories.append(m.label_history_)
        print(f"seed {seed}: final ACC {100 * evaluate(g.labels, m.labels_)['acc']:.2f}",
              flush=True)
    accs = [np.array([evaluate(g.labels, lab)["acc"] for lab in h]) for h in histories]
    final = np.array([x[-1] for x in accs])
    oracle = np.array([x.max() for x in accs])
    print(f"\nAGCN on {a.dataset} ([{a.table}] row {row['label']!r}), seeds {a.seeds}: final "
          f"{100 * final.mean():.2f} ± {100 * final.std(ddof=1) if len(final) > 1 else 0:.2f}, "
          f"oracle {100 * oracle.mean():.2f}\n")
    print("| stop_tol | stop_every | stop iteration (mean) | fired | ACC at the stop |")
    print("|---|---|---|---|---|")
    for every in a.every:
        for tol in a.tols:
            stops, got = [], []
            for h, x in zip(histories, accs):
                e = dec_stop_epoch(h[:-1], tol, every)
                stops.append(len(h) - 1 if e is None else e + 1)
                got.append(x[-1] if e is None else x[e + 1])
            fired = sum(dec_stop_epoch(h[:-1], tol, every) is not None for h in histories)
            got_a = 100 * np.array(got)
            spread = got_a.std(ddof=1) if len(got_a) > 1 else 0.0
            print(f"| {tol:g} | {every} | {np.mean(stops):.1f} | {fired}/{len(histories)} | "
                  f"{got_a.mean():.2f} ± {spread:.2f} |", flush=True)


if __name__ == "__main__":
    main()
