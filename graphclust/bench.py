"""Regenerate a paper table: ``graphclust bench TABLE [--seeds S] [--out DIR]``.

(``python benchmarks/bench.py TABLE`` is the same command.) The tables and every
parameter value, each traced to its source, live in ``graphclust/tables.toml``.

Each run (row x dataset x seed) happens in a fresh child process so its peak memory
(ru_maxrss) and time are its own. Labels are used only for scoring the final labels.
Writes DIR/TABLE.md and DIR/TABLE.json (default DIR: results/TABLE/), rewritten after
every run so a stopped run keeps every run it finished; ``--resume`` then reuses the runs of
DIR/TABLE.json whose row, dataset, parameters and seed match, and runs only the rest
(the table says how many runs it reused). A table's ``label_only`` names a parameter that
only picks which of a fit's label sets becomes ``labels_`` (GMIM's ``assign``): rows that
differ only in it are scored from one fit per seed, with the same numbers as separate fits
(Cora seed 0 checked: MI+K-means 71.79 and MI+GMM 73.30 ACC both ways). A table's
``oracle = { param, attribute }`` sets ``param`` to True and scores every row of the label
history in ``attribute`` as a separately labelled oracle column; ``probe_acc`` among the
metrics is a logistic-regression probe of ``embedding_`` on the dataset's public split. A
paper number is looked up by row and dataset (a row's ``paper``: a list for its one dataset,
or a table by dataset name), never by position. The runner knows no method by name. Runs use
``--threads`` torch threads (default 2, as every committed table): results repeat exactly
at the same thread count. Like the CLI, this module prints
(progress on stderr, the table on stdout); the estimators never do.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import resource
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from graphclust._compat import load_toml

TABLES = Path(__file__).resolve().parent / "tables.toml"


def load_tables() -> dict[str, Any]:
    """The paper tables of ``tables.toml`` by name."""
    return load_toml(TABLES.read_text())


def import_torch_optim() -> float:
    """Pay torch's one-time import of ``torch._dynamo`` now; return its seconds.

    The first ``torch.optim`` optimiser of a process imports it (~1.2 s on our 2-core
    machines, once per process, whatever the model): a one-time import like ``import torch``
    itself, so timings of a fit call this first and report it apart.
    """
    import torch

    t0 = time.perf_counter()
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)
    return time.perf_counter() - t0


def one_run(method: str, dataset: str, params: dict[str, Any], seed: int, threads: int,
            dataset_kwargs: dict[str, Any] | None = None,
            labelings: list[str] | None = None, mmap_threshold_mb: int | None = None,
            required: str | None = None,
            oracle: dict[str, str] | None = None, probe: bool = False,
            ) -> dict[str, Any]:
    import torch

    from graphclust.runtime import MMAP_THRESHOLD_BYTES, tune_malloc

    # as the CLI does; a table may raise the mmap threshold (its ``mmap_threshold_mb``)
    tune_malloc(MMAP_THRESHOLD_BYTES if mmap_threshold_mb is None else mmap_threshold_mb << 20)
    torch.set_num_threads(threads)
    from graphclust import evaluate, load_dataset
    from graphclust.evaluation import linear_probe
    from graphclust.methods import METHODS

    g = load_dataset(dataset, **(dataset_kwargs or {}))
    import_seconds = import_torch_optim()  # before the timer, reported apart
    cls = METHODS[method]
    if oracle:  # for the oracle column only
        params = {**params, oracle["param"]: True}
    if g.n_classes is None:
        raise ValueError(f"dataset {dataset!r} has no labels: a paper table needs them to score.")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls(n_clusters=g.n_classes, random_state=seed, **params).fit(g)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"seed": seed, "seconds": seconds, "import_seconds": import_seconds,
                           **evaluate(g.labels, model.labels_, adjacency=g.adjacency)}
    # kept with the run, so a table says which runs collapsed and whether they warned
    out["clusters_used"] = int(np.unique(model.labels_).size)
    out["n_clusters"] = int(g.n_classes)
    out["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught
                              if not issubclass(w.category, DeprecationWarning)})
    if oracle:
        # the authors' protocol: every metric's maximum over the iterations, each scored
        # against the true labels: an oracle, reported beside the final iteration, never as it
        scores = [evaluate(g.labels, lab) for lab in getattr(model, oracle["attribute"])]
        for m in ("acc", "nmi", "ari", "f1"):
            out[f"oracle_{m}"] = max(s[m] for s in scores)
    if labelings:  # the other label sets of the same fit (a table's ``label_only``)
        # the label sets this fit has (a costly one, e.g. UMAP's, only where its row asked)
        if required is not None and getattr(model, required, None) is None:
            raise ValueError(
                f"{method} fitted with {params} set no {required}, the label set its row "
                "scores (the table's label_only); check label_only in tables.toml.")
        out["labelings"] = {a: evaluate(g.labels, getattr(model, a), adjacency=g.adjacency)
                            for a in labelings if getattr(model, a, None) is not None}
    if probe:
        if "split" not in g.meta or g.labels is None:
            raise ValueError(f"probe_acc needs a labelled public split; {dataset!r} has none.")
        out["probe_acc"] = linear_probe(model.embedding_, g.labels, g.meta["split"])
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["mmap_threshold_mb"] = (MMAP_THRESHOLD_BYTES >> 20 if mmap_threshold_mb is None
                                else mmap_threshold_mb)
    return out


def fmt(values: list[float], scale: float = 100.0) -> str:
    """Mean ± std; a single run has no spread, so it shows the value alone."""
    if len(values) == 1:
        return f"{scale * values[0]:.2f}"
    return f"{scale * np.mean(values):.2f} ± {scale * np.std(values):.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="graphclust bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("table", help="a table of tables.toml, e.g. gmim-table2; 'list' lists them")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..S-1 per row (default 10)")
    p.add_argument("--out", type=Path, help="output folder (default results/TABLE)")
    p.add_argument("--threads", type=int, default=2, help="torch threads per run (default 2)")
    p.add_argument("--datasets", nargs="*",
                   help="only these datasets (rows for other datasets are skipped)")
    p.add_argument("--rows", nargs="*", type=int, help="only these rows (0-based) of the table")
    p.add_argument("--resume", action="store_true",
                   help="reuse the matching runs (row, dataset, parameters, seed) already in "
                        "DIR/TABLE.json, e.g. after a stopped run; run only the missing ones")


def run_isolated(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """:func:`one_run` in a fresh child process, so its time and peak memory are its own."""
    result: dict[str, Any] = isolated(one_run, *args, **kwargs)
    return result


def isolated(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a fresh child process that ends with this one.

    The child is spawned, not forked: a fork of a process whose torch thread pools already
    run (a test session that fitted models before) can deadlock in the child. On Linux the
    child asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``): a
    bench stopped with ``kill`` or Ctrl-C otherwise left its current run going, holding the
    cores, until that run's end (an hour and more for a large table row).
    """
    import os

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_end_with_parent,
                             initargs=(os.getpid(),)) as ex:
        return ex.submit(fn, *args, **kwargs).result()


def _end_with_parent(parent: int) -> None:
    """The child's initializer: SIGTERM to this process when ``parent`` dies (Linux; a
    no-op elsewhere), and an exit at once if it died before the request was made."""
    import ctypes
    import ctypes.util
    import os
    import signal

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def paper_numbers(table: str, row: dict[str, Any], dataset: str) -> list[float] | None:
    """A row's paper numbers for ``dataset``: its ``paper`` list (a row of one dataset) or
    ``paper[dataset]`` (a table by dataset); None where the paper has none."""
    paper = row.get("paper")
    if paper is None or isinstance(paper, list):
        return paper
    if isinstance(paper, dict):
        return paper.get(dataset)
    raise ValueError(f"table {table!r}, row {row['label']!r}: paper must be a list of numbers "
                     f"or a table by dataset but got {paper!r}.")


def check_label_only(table: str, spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A table's ``label_only = { param = { value = "attribute" } }``: parameters that only
    choose which of a fit's label sets becomes ``labels_`` (GMIM's ``assign``), so rows
    that differ only in them are scored from one fit."""
    label_only = spec.get("label_only", {})
    if len(label_only) > 1:
        raise ValueError(f"table {table!r}: label_only names {sorted(label_only)}, but one "
                         "parameter at most can choose a fit's label set.")
    for row in spec["rows"]:
        for k, choices in label_only.items():
            v = row.get("params", {}).get(k)
            if v is not None and v not in choices:
                raise ValueError(
                    f"table {table!r}, row {row['label']!r}: {k} = {v!r} has no label set in "
                    f"the table's label_only (expected one of {sorted(choices)}); add it there.")
    return label_only


def _run_key(label: str, dataset: str, params: dict[str, Any], seed: int) -> str:
    return json.dumps([label, dataset, params, seed], sort_keys=True, default=str)


def load_previous(out: Path, table: str
                  ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(rows, runs by (row, dataset, params, seed)) of an earlier ``DIR/TABLE.json``, for
    --resume: the runs to reuse, and the rows to carry over when this command skips them."""
    path = out / f"{table}.json"
    if not path.exists():
        return [], {}
    try:
        rows = json.loads(path.read_text())
        return rows, {_run_key(r["row"], r["dataset"], r["params"], run["seed"]): run
                      for r in rows for run in r["runs"]}
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot resume from {path}: {type(e).__name__}: {e}. Expected the "
                         f"{table}.json an earlier 'graphclust bench {table}' wrote; move it "
                         "away or drop --resume.") from None


def run(args: argparse.Namespace) -> int:
    tables = load_tables()
    if args.table == "list":
        for name, spec in tables.items():
            print(f"{name}: {spec['title']}")
        return 0
    if args.table not in tables:
        print(f"graphclust: error: unknown table {args.table!r}; choose from "
              f"{', '.join(tables)}.", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"graphclust: error: --seeds must be >= 1 but got {args.seeds}.", file=sys.stderr)
        return 2
    if args.out is None:
        args.out = Path("results") / args.table
    command = " ".join(
        ["graphclust bench", args.table, f"--seeds {args.seeds}"]
        + ([f"--datasets {' '.join(args.datasets)}"] if args.datasets else [])
        + ([f"--rows {' '.join(map(str, args.rows))}"] if args.rows else [])
        + [f"--out {args.out}"]
    )
    spec = tables[args.table]
    metrics = spec["metrics"]
    mmap_mb = spec.get("mmap_threshold_mb")
    if mmap_mb is not None:
        from graphclust.runtime import check_mmap_threshold_mb

        try:
            check_mmap_threshold_mb(mmap_mb)
        except ValueError as e:
            print(f"graphclust: error: table {args.table!r}: {e}", file=sys.stderr)
            return 2
    jobs = []
    for i, row in enumerate(spec["rows"]):
        if args.rows is not None and i not in args.rows:
            continue
        if "dataset" in row and args.datasets and row["dataset"] not in args.datasets:
            continue  # --datasets restricts rows that name their dataset too
        if "dataset" in row:
            datasets = [row["dataset"]]
        elif "datasets" in row:  # a row's own list, still narrowed by --datasets
            datasets = [d for d in row["datasets"] if not args.datasets or d in args.datasets]
        else:
            datasets = args.datasets or spec["datasets"]
        # TOML has no null: a row names the parameters it sets to None in ``none``
        params = {**row.get("params", {}), **{k: None for k in row.get("none", [])}}
        for ds in datasets:
            try:
                jobs.append((row["label"], row["method"], ds, params,
                             paper_numbers(args.table, row, ds), row.get("dataset_kwargs", {}),
                             row_seeds(args.table, row, args.seeds)))
            except ValueError as e:
                print(f"graphclust: error: {e}", file=sys.stderr)
                return 2
    try:
        previous_rows, previous = (load_previous(args.out, args.table) if args.resume
                                   else ([], {}))
    except ValueError as e:
        print(f"graphclust: error: {e}", file=sys.stderr)
        return 2
    # rows of the earlier file that this command does not run (other --rows / --datasets)
    # are carried over unchanged, so a table can be built in parts into one folder
    current = {json.dumps([j[0], j[2], j[3]], sort_keys=True, default=str) for j in jobs}
    carried = [
        e for e in previous_rows
        if json.dumps([e["row"], e["dataset"], e["params"]], sort_keys=True, default=str)
        not in current]
    try:
        label_only = check_label_only(args.table, spec)
    except ValueError as e:
        print(f"graphclust: error: {e}", file=sys.stderr)
        return 2
    attrs = sorted({a for choices in label_only.values() for a in choices.values()})
    extra = dict(mmap_threshold_mb=mmap_mb, oracle=spec.get("oracle"),
                 probe="probe_acc" in metrics)
    fits: dict[str, dict[str, Any]] = {}  # one fit per parameters-but-label_only, per seed
    reused = 0
    entries: list[dict[str, Any]] = []
    md = ""
    for label, method, ds, params, paper, ds_kwargs, n_seeds in jobs:
        entry = {"row": label, "method": method, "dataset": ds, "params": params,
                 "paper": paper, "runs": [], "seeds": n_seeds}
        entries.append(entry)
        for seed in range(n_seeds):
            key = _run_key(label, ds, params, seed)
            if key in previous:
                r, how = previous[key], " (reused)"
                reused += 1
            elif not any(k in params for k in label_only):
                r, how = run_isolated(method, ds, params, seed, args.threads, ds_kwargs,
                                      **extra), ""
            else:
                fit_key = json.dumps([method, ds, ds_kwargs, seed, {
                    k: v for k, v in params.items() if k not in label_only}],
                    sort_keys=True, default=str)
                how = ""
                (attr,) = [label_only[k][params[k]] for k in label_only if k in params]
                if fit_key in fits and attr in fits[fit_key]["labelings"]:
                    how = " (same fit as an earlier row)"
                else:  # no fit yet, or one without this row's label set: fit for this row
                    fits[fit_key] = run_isolated(method, ds, params, seed, args.threads,
                                                 ds_kwargs, labelings=attrs, required=attr,
                                                 **extra)
                fit = fits[fit_key]
                r = {k: v for k, v in fit.items() if k != "labelings"} | fit["labelings"][attr]
                if how:
                    r["shared_fit"] = True
            entry["runs"].append(r)
            print(f"{label} {ds} seed {seed}{how}: " + " ".join(
                f"{m}={r[m]:.4f}" for m in metrics if m in r) + f" {r['seconds']:.1f}s "
                f"{r['peak_mb']:.0f}MB", file=sys.stderr, flush=True)
            # after every run, so a stop loses at most the run in progress (--resume)
            everything = sorted(carried + entries, key=lambda e: table_order(spec, e))
            md = write(args.out, args.table,
                       render(spec, everything, args.seeds, reused, len(carried)),
                       everything, command)
    print(md)
    return 0


def row_seeds(table: str, row: dict[str, Any], seeds: int) -> int:
    """Seeds 0..n-1 of a row: ``--seeds``, capped by the row's own ``seeds`` (a protocol that
    asks fewer seeds of some rows, e.g. 10 for the headline rows and 5 for the rest)."""
    cap = row.get("seeds", seeds)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"table {table!r}, row {row.get('label')!r}: seeds must be a positive "
                         f"int but got {cap!r}.")
    return min(cap, seeds)


def table_order(spec: dict[str, Any], entry: dict[str, Any]) -> tuple[int, int]:
    """(row index, dataset index) of an entry in its table, for a stable listing."""
    for i, row in enumerate(spec["rows"]):
        if row["label"] == entry["row"] and row.get("params", {}) == {
                k: v for k, v in entry["params"].items() if k not in row.get("none", [])}:
            names = ([row["dataset"]] if "dataset" in row
                     else row.get("datasets", spec.get("datasets", [])))
            return i, names.index(entry["dataset"]) if entry["dataset"] in names else len(names)
    return len(spec["rows"]), 0


def render(spec: dict[str, Any], entries: list[dict[str, Any]], seeds: int,
           reused: int, carried: int = 0) -> list[str]:
    """The markdown table of ``entries`` (one per row x dataset); a row still running
    says how many of its seeds are in."""
    metrics = spec["metrics"]
    # rows with other seed counts than --seeds (row caps, rows carried over from other commands)
    mixed = int(any(len(e["runs"]) != seeds for e in entries))
    lines = [f"# {spec['title']}", "",
             (f"{seeds} seeds (0..{seeds - 1})" if seeds > 1 else "1 seed (0)")
             + (" asked; each row's own count in its seeds column" if mixed else "")
             + ", final labels (no label-based selection); "
             "ours as mean ± std, paper beside it, Δ = ours − paper.", "",
             "| row | dataset | " + " | ".join(f"{m} (ours) | {m} (paper) | Δ" for m in metrics)
             + " | seconds | peak MB |" + (" seeds |" if mixed else ""),
             "|" + "---|" * (2 + 3 * len(metrics) + 2 + mixed)]
    oracle_lines: list[str] = []
    for e in entries:
        runs, paper = e["runs"], e["paper"]
        want = e.get("seeds", seeds)
        label = e["row"] + ("" if len(runs) == want else f" ({len(runs)} of {want} seeds so far)")
        if want < seeds and len(runs) == want:
            label += f" ({want} seed{'s' if want != 1 else ''})"
        cells = []
        for j, m in enumerate(metrics):
            ours = [r[m] for r in runs if m in r]
            ref = None if paper is None else paper[j]
            ours_s = fmt(ours) if ours else "–"
            ref_s = "–" if ref is None or (isinstance(ref, float) and math.isnan(ref)) else f"{ref:.2f}"
            delta = (f"{100 * np.mean(ours) - ref:+.2f}" if ours and ref_s != "–" else "–")
            cells += [ours_s, ref_s, delta]
        secs = [r["seconds"] for r in runs]
        mem = [r["peak_mb"] for r in runs]
        lines.append(f"| {label} | {e['dataset']} | " + " | ".join(cells)
                     + f" | {np.mean(secs):.1f}"
                     + (f" ± {np.std(secs):.1f}" if len(secs) > 1 else "")
                     + f" | {max(mem):.0f} |" + (f" {len(runs)} |" if mixed else ""))
        if all("oracle_acc" in r for r in runs):
            oracle_lines.append(f"| {label} | {e['dataset']} | " + " | ".join(
                f"{fmt([r['oracle_' + m] for r in runs])} | "
                + ("–" if paper is None else f"{paper[j]:.2f}")
                for j, m in enumerate(metrics) if f"oracle_{m}" in runs[0]) + " |")
    oracle = [] if not oracle_lines else [
        "", "## Oracle (authors' protocol): each metric's maximum over the iterations, "
        "scored against the true labels. Not a clustering result: labels select it.", "",
        "| row | dataset | " + " | ".join(f"{m} (oracle) | {m} (paper)" for m in metrics
                                       if m in ("acc", "nmi", "ari", "f1")) + " |",
        "|" + "---|" * (2 + 2 * sum(m in ("acc", "nmi", "ari", "f1") for m in metrics)),
        *oracle_lines]
    collapsed = [f"{e['row']} {e['dataset']} seed {r['seed']}: {r['clusters_used']} of "
                 f"{r['n_clusters']} clusters used"
                 + (" (warned)" if any(w.startswith("CollapseWarning") for w in r["warnings"])
                    else " (NOT warned)")
                 for e in entries for r in e["runs"]
                 if "clusters_used" in r and r["clusters_used"] < r["n_clusters"]]
    if collapsed:
        lines += ["", "Runs that ended with fewer non-empty clusters than asked for:", "",
                  *(f"- {c}" for c in collapsed)]
    if carried:
        lines += ["", f"{carried} row{'s' if carried > 1 else ''} carried over unchanged from the "
                  "earlier file in this folder (run by an earlier command with other --rows, "
                  "--datasets or --seeds)."]
    note = ([] if not reused else
            ["", f"{reused} of these runs {'was' if reused == 1 else 'were'} reused (--resume) from an earlier run of "
             "this command into the same folder; same row, dataset, parameters and seed."])
    imports = [r["import_seconds"] for e in entries for r in e["runs"] if "import_seconds" in r]
    if imports:
        note += ["", "seconds: the estimator's fit (data loaded, in a fresh process); not counted: "
                 "importing torch and torch's one-time import of torch._dynamo at a process's first "
                 f"optimiser ({np.mean(imports):.1f} s on average here, `import_seconds` in the JSON)."]
    if "mmap_threshold_mb" in spec:
        note += ["", f"Each run's process set glibc's mmap threshold to {spec['mmap_threshold_mb']} MiB "
                 "(the table's mmap_threshold_mb; the CLI's default is 8): blocks below it are "
                 "reused from the heap instead of mapped and page-faulted afresh on every step."]
    shared = sum(bool(r.get("shared_fit")) for e in entries for r in e["runs"])
    if shared:
        note += ["", f"{shared} of these runs took their labels from the fit of an earlier row "
                 f"that differs only in {', '.join(spec['label_only'])} (one fit gives every "
                 "label set; table's label_only), so their seconds and peak MB are that fit's."]
    return lines + oracle + note


def write(out: Path, table: str, lines: list[str], results: list[dict[str, Any]],
          command: str) -> str:
    out.mkdir(parents=True, exist_ok=True)
    md = "\n".join(lines) + f"\n\nCommand: `{command}`\n"
    for name, text in ((f"{table}.md", md), (f"{table}.json", json.dumps(results, indent=2, default=str))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
    return md


if __name__ == "__main__":
    sys.exit(main())
