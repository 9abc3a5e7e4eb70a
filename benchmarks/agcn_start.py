"""How much of AGCN's per-seed spread comes from its starting point.

``python benchmarks/agcn_start.py --table agcn-table3 --dataset cite --results results/agcn-table3-cite``

For every seed in a committed ``graphclust bench`` result, this re-creates that run's
starting point (the pre-trained AE and the k-means labels on its embedding,
``AGCN.pretrain_labels_``) by fitting the same row's parameters with the same seed and
``n_epochs=0``: the random draws before the joint phase do not depend on ``n_epochs``
(tests/test_agcn.py), so at the same thread count the start is the full run's start.
It prints per seed the start's ACC and NMI beside the committed final-iteration ones, and
the Pearson correlation of start and final ACC over the seeds. Labels only score.

``--seeds 10 11 ...`` computes the starts of seeds that have no committed run (final
columns "–"), with the row's parameters from the table: a cheap scan for seeds whose AE
starts where the paper's did (pre-training only, no joint phase).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from graphclust import AGCN, evaluate, load_dataset
from graphclust.bench import load_tables


def agcn_row(table: str, dataset: str) -> dict:
    """The one AGCN row for ``dataset`` in the benchmark table ``table`` (exits otherwise)."""
    rows = [r for r in load_tables()[table]["rows"]
            if r["method"] == "agcn" and r["dataset"] == dataset]
    if len(rows) != 1:
        raise SystemExit(f"expected one AGCN row for {dataset!r} in [{table}] "
                         f"but found {len(rows)}.")
    return rows[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default="agcn-table3")
    p.add_argument("--dataset", default="cite")
    p.add_argument("--results", type=Path, default=Path("results/agcn-table3-cite"))
    p.add_argument("--threads", type=int, default=2, help="the thread count of the results")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="scan these seeds instead of the committed runs' seeds")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    row = agcn_row(args.table, args.dataset)
    params = row["params"]
    finals: dict[int, dict] = {}
    results = args.results / f"{args.table}.json"
    if args.seeds is None or results.exists():
        saved = json.loads(results.read_text())
        runs = [e for e in saved if e["dataset"] == args.dataset and e["row"] == row["label"]]
        if not runs and args.seeds is None:
            raise SystemExit(f"no {row['label']!r} runs on {args.dataset!r} in {args.results}.")
        if runs:
            params = runs[0]["params"]
            finals = {r["seed"]: r for r in runs[0]["runs"]}
    seeds = args.seeds if args.seeds is not None else sorted(finals)
    g = load_dataset(args.dataset, **row.get("dataset_kwargs", {}))
    print(f"AGCN on {args.dataset}: start (pre-trained AE + k-means) vs final iteration, "
          f"{args.threads} threads")
    print("| seed | start ACC | start NMI | final ACC | final NMI | seconds (start) |")
    print("|---|---|---|---|---|---|")
    start_acc, final_acc = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        m = AGCN(g.n_classes, random_state=seed, **{**params, "n_epochs": 0}).fit(g)
        s = evaluate(g.labels, m.pretrain_labels_)
        run = finals.get(seed)
        final = (f"{100 * run['acc']:.2f} | {100 * run['nmi']:.2f}" if run else "– | –")
        if run:
            start_acc.append(100 * s["acc"])
            final_acc.append(100 * run["acc"])
        print(f"| {seed} | {100 * s['acc']:.2f} | {100 * s['nmi']:.2f} | {final} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)
    if len(start_acc) > 2:
        r = float(np.corrcoef(start_acc, final_acc)[0, 1])
        print(f"\nstart ACC {np.mean(start_acc):.2f} ± {np.std(start_acc):.2f}, final ACC "
              f"{np.mean(final_acc):.2f} ± {np.std(final_acc):.2f}; Pearson r(start, final) = "
              f"{r:.2f}")


if __name__ == "__main__":
    main()
