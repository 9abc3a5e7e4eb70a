"""What AGCN's joint phase does to each branch, iteration by iteration.

``python benchmarks/agcn_dynamics.py --table agcn-table3 --dataset dblp --seeds 1 2``

Fits the table row's AGCN (same parameters, same seed, so the same run as the committed
benchmark at the same thread count) with ``keep_label_history=True`` and prints, every
``--every`` iterations, the ACC of argmax Z (the reported labels, eq. 9), of argmax Q (the
AE embedding's own assignment to the learned centres, eq. 10), the reconstruction MSE and
KL(P || Q). Iteration 0 is the state before the first update; "start" is k-means on the
pre-trained AE, where the centres begin. It shows whether a run ends where its start put
it, gains through the graph branch (Z above Q), or drifts (Q falling while the
reconstruction improves). Labels only score, after training.
"""

from __future__ import annotations

import argparse
import time

import torch
from agcn_start import agcn_row  # benchmarks/ is on sys.path when run as a script

from graphclust import AGCN, evaluate, load_dataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default="agcn-table3")
    p.add_argument("--dataset", default="dblp")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    row = agcn_row(args.table, args.dataset)
    g = load_dataset(args.dataset, **row.get("dataset_kwargs", {}))
    print(f"AGCN joint phase on {args.dataset} ([{args.table}] row {row['label']!r}, "
          f"params {row['params']}), {args.threads} threads")
    for seed in args.seeds:
        t0 = time.perf_counter()
        m = AGCN(g.n_classes, random_state=seed, keep_label_history=True, **row["params"]).fit(g)
        secs = time.perf_counter() - t0
        start = evaluate(g.labels, m.pretrain_labels_)["acc"]
        recon, kl_q = m.history_["joint/recon"], m.history_["joint/kl_q"]
        n_iter = len(recon)
        print(f"\nseed {seed}: start (k-means on the pre-trained AE) ACC {100 * start:.2f}, "
              f"{secs:.0f} s")
        print("| iteration | Z ACC | Q ACC | recon MSE | KL(P‖Q) |")
        print("|---|---|---|---|---|")
        for it in [*range(0, n_iter, args.every), n_iter]:
            z_acc = evaluate(g.labels, m.label_history_[it])["acc"]
            q_acc = evaluate(g.labels, m.q_label_history_[it])["acc"]
            r = f"{recon[it]:.5f}" if it < n_iter else "–"
            k = f"{kl_q[it]:.4f}" if it < n_iter else "–"
            print(f"| {it} | {100 * z_acc:.2f} | {100 * q_acc:.2f} | {r} | {k} |", flush=True)
        scores = [evaluate(g.labels, lab) for lab in m.label_history_]
        metrics = ("acc", "nmi", "ari", "f1")
        final = " / ".join(f"{100 * scores[-1][k]:.2f}" for k in metrics)
        best = " / ".join(f"{100 * max(s[k] for s in scores):.2f}" for k in metrics)
        print(f"\nseed {seed}: final iteration ACC / NMI / ARI / F1 {final}; best iteration "
              f"per metric (oracle, authors' protocol) {best}", flush=True)


if __name__ == "__main__":
    main()
