"""Which label-free score of a pre-trained autoencoder predicts AGCN's start?

    python benchmarks/agcn_ae_select.py --dataset acm --seeds 0 1 ... 19 [--group 5]

For each seed, AGCN's own pre-training (the ``[agcn-table3]`` row's parameters, ``n_epochs=0``:
the AE and the k-means on its code, exactly the start of a full run with that seed) is scored
by label-free quantities of the AE alone:

* ``recon``: the last pre-training epoch's reconstruction MSE (lower is better);
* ``inertia``: k-means inertia on the code over its total sum of squares (scale-free,
  1 - R^2 of the partition; lower: tighter clusters);
* ``silhouette`` of the k-means partition of the code (higher is better);
* ``calinski``: Calinski-Harabasz index of that partition (higher is better).

It prints each seed's start ACC (labels only score) beside them, the Spearman correlation of
each score with the start ACC over the seeds, and what "pre-train ``group`` AEs, keep the best
by the score" would have started from (consecutive groups of seeds), against a group's mean.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from agcn_start import agcn_row  # benchmarks/ is on sys.path when run as a script
from scipy.stats import spearmanr
from sklearn.metrics import calinski_harabasz_score, silhouette_score

from graphclust import AGCN, evaluate, load_dataset

#: score name -> +1 when higher is better, -1 when lower is
SCORES = {"recon": -1, "inertia": -1, "silhouette": 1, "calinski": 1}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default="agcn-table3")
    p.add_argument("--dataset", default="acm")
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    p.add_argument("--group", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    row = agcn_row(a.table, a.dataset)
    g = load_dataset(a.dataset, **row.get("dataset_kwargs", {}))
    print(f"AGCN start on {a.dataset} ([{a.table}] row parameters, n_epochs=0), "
          f"{a.threads} threads\n")
    print("| seed | start ACC | recon | inertia | silhouette | calinski |")
    print("|---|---|---|---|---|---|")
    acc, scores = [], {k: [] for k in SCORES}
    for seed in a.seeds:
        m = AGCN(g.n_classes, random_state=seed, **{**row["params"], "n_epochs": 0}).fit(g)
        code = m.embedding_.astype(np.float64)
        labels = m.pretrain_labels_
        centred = code - code.mean(0)
        within = sum(((code[labels == c] - code[labels == c].mean(0)) ** 2).sum()
                     for c in np.unique(labels))
        s = {"recon": float(m.history_["pretrain/recon"][-1]),
             "inertia": float(within / (centred ** 2).sum()),
             "silhouette": float(silhouette_score(code, labels)),
             "calinski": float(calinski_harabasz_score(code, labels))}
        acc.append(100 * evaluate(g.labels, labels)["acc"])
        for k, v in s.items():
            scores[k].append(v)
        print(f"| {seed} | {acc[-1]:.2f} | {s['recon']:.5f} | {s['inertia']:.4f} | "
              f"{s['silhouette']:.4f} | {s['calinski']:.1f} |", flush=True)
    acc_a = np.array(acc)
    print(f"\nstart ACC over {len(acc)} seeds: {acc_a.mean():.2f} ± {acc_a.std(ddof=1):.2f}\n")
    n_groups = len(acc) // a.group
    print(f"| score | Spearman with start ACC (sign: + is good) | best of {a.group} by the score, "
          f"mean start ACC over {n_groups} groups | groups' mean |")
    print("|---|---|---|---|")
    for k, sign in SCORES.items():
        v = np.array(scores[k])
        rho = spearmanr(sign * v, acc_a).statistic
        picks, means = [], []
        for i in range(n_groups):
            part = slice(i * a.group, (i + 1) * a.group)
            picks.append(acc_a[part][np.argmax(sign * v[part])])
            means.append(acc_a[part].mean())
        print(f"| {k} | {rho:+.2f} | {np.mean(picks):.2f} ({', '.join(f'{x:.1f}' for x in picks)})"
              f" | {np.mean(means):.2f} |")


if __name__ == "__main__":
    main()
