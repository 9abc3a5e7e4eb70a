"""Scaling table: a method at 10^4, 10^5, 10^6 nodes, seconds per phase, peak memory, ACC.

    python benchmarks/scaling.py [--method gmim] [--nodes 10000 100000 1000000]
        [--degree 20] [--features 128] [--classes 20] [--homophily 0.2] [--signal 0.3]
        [--set KEY=VALUE ...] [--out results/scaling/gmim.md]

Each size runs in a fresh process (its own peak RSS), one after the other, on a
degree-corrected csbm graph (power-law propensities, exponent 2.5; ``make_csbm``) with
average degree ``--degree``, ``--features`` features and ``--classes`` classes; ``--homophily``
and ``--signal`` set how hard it is (the defaults are the preset meant to leave the
clustering unsaturated). The method's parameters are its table in
``benchmarks/scaling.toml`` (each value traced there), then ``--set`` on top. Phases: ``load`` (generating the graph), then the estimator's own
``phase_seconds_`` (diffusion, pretrain, init, joint, cluster), ``total`` the fit. A size
whose run fails (memory, time) prints the error in its row and the table goes on. With
``--out`` the table is rewritten after each size, and the sizes already in its JSON (same
method, graph and parameters) are kept: run ``--nodes 1000000`` alone later to add it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PHASES = ["load", "diffusion", "pretrain", "init", "joint", "cluster"]


def preset(method: str) -> dict:
    """The method's parameters in scaling.toml (empty where it has no table)."""
    import tomllib

    with open(Path(__file__).with_name("scaling.toml"), "rb") as f:
        return tomllib.load(f).get(method, {})


MALLOC_HELP = ("glibc malloc: 'heap' keeps freed blocks in the process "
               "(runtime.tune_malloc(heap=True): no page faults per step, and no memory "
               "handed back); 'mmap32' (default) blocks under 32 MiB (a node batch's "
               "activations) from the heap, larger ones mmapped and handed back on free; "
               "'default' the CLI's 8 MiB")


def set_malloc(choice: str) -> None:
    """glibc's malloc for this process by the ``--malloc`` choice (see MALLOC_HELP)."""
    from graphclust.runtime import tune_malloc

    if choice == "default":
        tune_malloc()
    else:
        tune_malloc(32 << 20, heap=choice == "heap")


def one(args: argparse.Namespace, nodes: int) -> dict:
    import resource
    import time

    import torch

    from graphclust import evaluate, make_csbm
    from graphclust.cli import _parse_value
    from graphclust.methods import METHODS
    set_malloc(args.malloc)
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    g = make_csbm(nodes, args.classes, args.degree, args.homophily, args.features, args.signal,
                  args.seed, degree_exponent=2.5)
    load = time.perf_counter() - t
    params = dict(preset(args.method))
    params.update({k: _parse_value(v) for k, v in (s.split("=", 1) for s in args.set)})
    est = METHODS[args.method](args.classes, random_state=args.seed, **params).fit(g)
    return dict(nodes=nodes, edges=g.n_edges, load=load, **est.phase_seconds_,
                total=est.fit_seconds_, epochs=getattr(est, "n_iter_per_phase_", {}),
                peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                acc=evaluate(g.labels, est.labels_)["acc"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="gmim")
    p.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--degree", type=float, default=20.0)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--homophily", type=float, default=0.2)
    p.add_argument("--signal", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--malloc", choices=["heap", "mmap32", "default"], default="mmap32",
                   help=MALLOC_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", type=Path)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: one size
    args = p.parse_args()
    if args.one is not None:
        print("RESULT " + json.dumps(one(args, args.one)), flush=True)
        return
    params = {**preset(args.method), **dict(a.split("=", 1) for a in args.set)}
    config = dict(method=args.method, degree=args.degree, features=args.features,
                  classes=args.classes, homophily=args.homophily, signal=args.signal,
                  seed=args.seed, threads=args.threads, malloc=args.malloc,
                  params={k: str(v) for k, v in params.items()})
    cmd = "python benchmarks/scaling.py " + " ".join(sys.argv[1:])
    rows: dict[int, dict] = {}
    if args.out and args.out.with_suffix(".json").exists():
        # sizes run earlier with the same settings stay (one size per session is fine)
        old = json.loads(args.out.with_suffix(".json").read_text())
        if isinstance(old, dict) and old.get("config") == config:
            rows = {int(r["nodes_asked"]): r for r in old["rows"]}
    head = ("| nodes | edges | " + " | ".join(f"{ph} s" for ph in PHASES)
            + " | total s | peak MB | ACC | epochs |")
    print(head, flush=True)
    child = [a for a in sys.argv[1:]]
    for nodes in args.nodes:
        proc = subprocess.run([sys.executable, __file__, *child, "--one", str(nodes)],
                              capture_output=True, text=True)
        found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not found:
            err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            r = dict(nodes=nodes, failed=f"rc {proc.returncode}: {err}")
        else:
            r = json.loads(found[0][7:])
        r.update(nodes_asked=nodes, command=cmd)
        rows[nodes] = r
        print(row_line(r), flush=True)
        if args.out:
            write(args, config, rows)


def row_line(r: dict) -> str:
    if "failed" in r:
        return f"| {r['nodes']} | failed ({r['failed']}) |"
    return (f"| {r['nodes']} | {r['edges']} | "
            + " | ".join(f"{r.get(ph, 0.0):.1f}" for ph in PHASES)
            + f" | {r['total']:.1f} | {r['peak_mb']:.0f} | {100 * r['acc']:.1f} | "
            + ", ".join(f"{k} {v}" for k, v in r["epochs"].items()) + " |")


def write(args: argparse.Namespace, config: dict, rows: dict[int, dict]) -> None:
    """The table (markdown) and its rows (JSON), atomically, after every size."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    head = ("| nodes | edges | " + " | ".join(f"{ph} s" for ph in PHASES)
            + " | total s | peak MB | ACC | epochs |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    lines += [row_line(rows[n]) for n in sorted(rows)]
    cmds = sorted({r["command"] for r in rows.values()})
    text = (f"# {args.method} scaling (degree-corrected csbm, degree {args.degree:g}, "
            f"{args.features} features, {args.classes} classes, homophily "
            f"{args.homophily:g}, signal {args.signal:g}, seed {args.seed}, "
            f"{args.threads} threads, malloc {args.malloc})\n\nParameters: "
            + ", ".join(f"{k}={v}" for k, v in config["params"].items())
            + "\n\n" + "\n".join(lines) + "\n\nCommands: "
            + "; ".join(f"`{c}`" for c in cmds) + "\n")
    for path, body in ((args.out, text), (args.out.with_suffix(".json"), json.dumps(
            dict(config=config, rows=[rows[n] for n in sorted(rows)]), indent=1))):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(body)
        tmp.replace(path)

if __name__ == "__main__":
    main()
