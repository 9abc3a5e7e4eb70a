"""The authors' protocol, re-enacted from committed runs: one good AE, best iteration.

``python benchmarks/agcn_protocol.py --dataset cite --results results/agcn-table3-cite/agcn-table3.json``

The authors' code (MM21---AGCN/AGCN.py) loads one shipped pre-trained AE
(``data/<name>.pkl``) in all 10 runs and reports, per metric, the maximum over the 200
iterations scored against the true labels. Their Table 3 "AE" column (k-means on that AE,
e.g. CiteSeer 57.08 ± 0.13) says where that AE starts. We pre-train per seed, so our seeds
start anywhere from far below to above that level (``benchmarks/agcn_start.py``).

This script needs no training: it joins, per seed, the committed start
(``results/agcn-start/<dataset>.md``) with the committed final-iteration and
best-iteration ("oracle") scores of every AGCN row on that dataset in the given
``graphclust bench`` result files (Table 3, and Table 4's ablation rows, which share each
seed's pre-trained AE) and prints them for every seed, then the means over the seeds
whose start lies within ``--tolerance`` ACC points of the paper's AE column, and over
those at or above it: the seeds that begin where the authors' AE began. Picking seeds
by their start ACC uses the labels: this is a diagnosis of the gap to the paper, never a
result.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

# agcn.txt Table 3, column "AE" (k-means on the authors' shipped AE), ACC
PAPER_AE_ACC = {"acm": 81.83, "dblp": 51.43, "cite": 57.08, "usps": 71.04}
METRICS = ("acc", "nmi", "ari", "f1")


def read_starts(path: Path) -> dict[int, float]:
    """Seed -> start ACC from an ``agcn_start.py`` table (rows ``| seed | start ACC | ...``)."""
    starts = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|", line)
        if m:
            starts[int(m.group(1))] = float(m.group(2))
    if not starts:
        raise SystemExit(f"no per-seed rows found in {path}.")
    return starts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="cite", choices=sorted(PAPER_AE_ACC))
    p.add_argument("--results", type=Path, nargs="+",
                   default=[Path("results/agcn-table3-cite/agcn-table3.json")])
    p.add_argument("--starts", type=Path, default=None,
                   help="agcn_start.py output (default results/agcn-start/<dataset>.md)")
    p.add_argument("--tolerance", type=float, default=1.5)
    args = p.parse_args()
    starts = read_starts(args.starts or Path("results/agcn-start") / f"{args.dataset}.md")
    entries = [e for path in args.results for e in json.loads(path.read_text())
               if e["dataset"] == args.dataset and e["method"] == "agcn"]
    if not entries:
        raise SystemExit(f"no AGCN rows on {args.dataset!r} in {[str(r) for r in args.results]}.")
    level = PAPER_AE_ACC[args.dataset]
    print(f"AGCN on {args.dataset}: start, final iteration and best iteration (oracle) per seed; "
          f"paper's AE column {level:.2f} ACC")

    def cells(rs: list[dict], prefix: str) -> str:
        return " / ".join(f"{100 * np.mean([r[prefix + m] for r in rs]):.2f}" for m in METRICS)

    for entry in entries:
        runs = sorted(entry["runs"], key=lambda r: r["seed"])
        missing = [r["seed"] for r in runs if r["seed"] not in starts]
        if missing:
            raise SystemExit(f"seeds {missing} have no start in the starts table.")
        print(f"\n### {entry['row']}\n")
        print("| seed | start ACC | final ACC / NMI / ARI / F1 | oracle ACC / NMI / ARI / F1 |")
        print("|---|---|---|---|")
        for r in runs:
            fin = " / ".join(f"{100 * r[m]:.2f}" for m in METRICS)
            ora = " / ".join(f"{100 * r['oracle_' + m]:.2f}" for m in METRICS)
            print(f"| {r['seed']} | {starts[r['seed']]:.2f} | {fin} | {ora} |")
        paper = " / ".join(f"{v:.2f}" for v in entry["paper"])
        print("\n| seeds | n | final ACC / NMI / ARI / F1 | oracle ACC / NMI / ARI / F1 | paper |")
        print("|---|---|---|---|---|")
        print(f"| all | {len(runs)} | {cells(runs, '')} | {cells(runs, 'oracle_')} | {paper} |")
        groups = [
            (f"start within {args.tolerance} of {level:.2f}",
             [r for r in runs if abs(starts[r["seed"]] - level) <= args.tolerance]),
            (f"start at or above {level:.2f}", [r for r in runs if starts[r["seed"]] >= level]),
        ]
        for name, rs in groups:
            if rs:
                ids = ", ".join(str(r["seed"]) for r in rs)
                print(f"| {name} (seeds {ids}) | {len(rs)} | {cells(rs, '')} | "
                      f"{cells(rs, 'oracle_')} | {paper} |")
            else:
                print(f"| {name} | 0 | – | – | {paper} |")


if __name__ == "__main__":
    main()
