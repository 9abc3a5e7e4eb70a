"""The ``graphclust`` command line: datasets, info, methods, run.

Only this module prints, draws progress bars (stderr) and writes files.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from graphclust import __version__
from graphclust.runtime import MMAP_THRESHOLD_BYTES, check_mmap_threshold_mb, tune_malloc

EXIT_USAGE = 2
#: the exceptions the library raises for bad input; the CLI prints their message alone
USER_ERRORS = (FileNotFoundError, ValueError, MemoryError)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_datasets(args: argparse.Namespace) -> int:
    from graphclust.datasets import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        info = dataset_info(name, args.root)
        fmt = lambda v: "-" if v is None else str(v)  # noqa: E731
        status = "embedded" if not info["files"] else ("yes" if info["available"] else
                 ("download" if info["downloadable"] else "no"))
        rows.append([name, fmt(info["nodes"]), fmt(info["edges"]), fmt(info["features"]),
                     fmt(info["classes"]), status, info["description"]])
    print(_table(rows, ["name", "nodes", "edges", "features", "classes", "local", "description"]))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from graphclust.datasets import dataset_info, load_dataset

    info = dataset_info(args.name, args.root)
    print(f"{info['name']}: {info['description']}")
    print(f"expected: nodes={info['nodes']} edges={info['edges']} features={info['features']} "
          f"classes={info['classes']}")
    for f in info["files"]:
        print(f"  {'ok     ' if Path(f).is_file() else 'missing'} {f}")
    if info["available"] or args.load:
        g = load_dataset(args.name, args.root, download=args.load)
        s = g.stats()
        print("loaded:   " + " ".join(f"{k}={v}" for k, v in s.items() if k != "name"))
    return 0


def _method_params(cls: type) -> dict[str, Any]:
    sig = inspect.signature(cls)
    return {k: p.default for k, p in sig.parameters.items() if k != "self"}


def cmd_methods(args: argparse.Namespace) -> int:
    from graphclust.methods import METHODS

    for name, cls in METHODS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name}  ({cls.__name__}): {doc}")
        for key, default in _method_params(cls).items():
            print(f"    {key} = {default!r}")
    return 0


def _parse_value(text: str) -> Any:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text[:1] in "([" and text[-1:] in ")]":  # a list of numbers, e.g. widths=500,500,2000,10
        text = text[1:-1]
    if "," in text:
        return tuple(_parse_value(part.strip()) for part in text.split(",") if part.strip())
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return text


def _resolve_params(cls: type, config: Path | None, sets: list[str]) -> dict[str, Any]:
    valid = _method_params(cls)
    params: dict[str, Any] = {}
    if config is not None:
        from graphclust._compat import load_toml

        data = load_toml(Path(config).read_text())
        params.update(data.get("params", data))
    for item in sets:
        if "=" not in item:
            raise SystemExit(_usage_error(f"--set expects key=value but got {item!r}."))
        key, value = item.split("=", 1)
        params[key.strip()] = _parse_value(value.strip())
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise SystemExit(_usage_error(
            f"unknown parameter(s) {', '.join(unknown)} for {cls.__name__}; valid: "
            + ", ".join(valid)
        ))
    return params


def _usage_error(msg: str) -> int:
    print(f"graphclust: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _write_atomic(out_dir: Path, files: dict[str, Any]) -> None:
    """Write every file, or none: all go into a hidden temporary folder first.

    A new ``out_dir`` appears whole (one rename of the folder). Into an existing one the
    finished files are moved one by one, each move atomic, so no file is ever half-written.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    try:
        for name, content in files.items():
            path = tmp / name
            if isinstance(content, np.ndarray):
                with open(path, "wb") as f:
                    np.save(f, content)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        if not out_dir.exists():
            os.rename(tmp, out_dir)
            return
        for name in files:
            os.replace(tmp / name, out_dir / name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _progress_callback(bar_holder: dict[str, Any], enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    def callback(phase: str, epoch: int, n_epochs: int, losses: dict[str, float]) -> None:
        bar = bar_holder.get(phase)
        if bar is None or epoch == 0:
            if bar is not None:
                bar.close()
            bar = tqdm(total=n_epochs, desc=phase, file=sys.stderr, leave=False)
            bar_holder[phase] = bar
        bar.update(1)
        bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)

    return callback


def run_method(method: str, graph: Any, params: dict[str, Any], *, runs: int, seed: int,
               device: str, progress: bool) -> dict[str, Any]:
    """Fit ``method`` ``runs`` times (seeds seed..seed+runs-1); collect metrics per run.

    ``random_state`` and ``device`` among ``params`` (``--set``) take the place of
    ``--seed`` and ``--device``; ``random_state=None`` gives unseeded runs.
    """
    from graphclust.methods import METHODS
    from graphclust.metrics import evaluate

    cls = METHODS[method]
    params = dict(params)
    n_clusters = params.pop("n_clusters", graph.n_classes)
    if n_clusters is None:
        raise SystemExit(_usage_error("the graph has no labels: give the number of clusters "
                                      "with --set n_clusters=K."))
    seeded = True
    if "random_state" in params:
        base = params.pop("random_state")
        seeded = base is not None
        seed = int(base) if seeded else seed
    device = params.pop("device", device)
    results = []
    last = None
    folder = params.pop("checkpoint", None)
    for r in range(runs):
        if folder is not None:  # one checkpoint folder per run (each its own seed)
            params["checkpoint"] = str(Path(folder) / f"run-{r}")
        model = cls(n_clusters=n_clusters, random_state=seed + r if seeded else None,
                    device=device, **params)
        bars: dict[str, Any] = {}
        model.epoch_callback = _progress_callback(bars, progress)
        t0 = time.perf_counter()
        model.fit(graph)
        seconds = time.perf_counter() - t0
        for bar in bars.values():
            bar.close()
        embedding = getattr(model, "embedding_", None)
        scores = evaluate(graph.labels if graph.labels is not None and (graph.labels >= 0).any()
                          else None, model.labels_, adjacency=graph.adjacency,
                          embedding=graph.dense_features() if embedding is None else embedding)
        scores["seconds"] = seconds
        results.append({"seed": seed + r if seeded else None, **scores})
        last = model
        if progress:
            shown = " ".join(f"{k}={v:.4f}" for k, v in scores.items())
            print(f"run {r + 1}/{runs} seed={results[-1]['seed']}: {shown}", file=sys.stderr)
    return {"runs": results, "model": last, "n_clusters": n_clusters, "seed": seed,
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB): the whole command's, all runs and
    the data loading included, not any one run's."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and std of every score over the runs (``n``: how many; one run has no spread)."""
    keys = [k for k in runs[0] if k != "seed"]
    return {k: {"mean": float(np.mean([r[k] for r in runs])),
                "std": float(np.std([r[k] for r in runs])), "n": len(runs)} for k in keys}


#: the baselines run beside every method: features alone, graph alone
BASELINES = ("kmeans", "spectral")


def run_baselines(method: str, graph: Any, n_clusters: int, *, runs: int, seed: int,
                  progress: bool) -> dict[str, dict[str, dict[str, float]]]:
    """Summaries of k-means on the features and spectral clustering of the graph, on the
    same graph and seeds (seconds each on the bundled data)."""
    out = {}
    for name in BASELINES:
        if name == method:
            continue
        if progress:
            print(f"baseline {name} ({runs} run(s)) ...", file=sys.stderr)
        res = run_method(name, graph, {"n_clusters": n_clusters}, runs=runs, seed=seed,
                         device="cpu", progress=False)
        out[name] = summarize(res["runs"])
    return out


def _print_summary(record: dict[str, Any], graph: Any, runs: int, seed: int) -> None:
    from graphclust.report import summary_header, summary_rows

    print(f"{record['method']} on {graph.name} ({runs} run(s), seeds {seed}..{seed + runs - 1}),"
          " scores in percent, mean ± std")
    print(_table(summary_rows(record), summary_header(record)))


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"graphclust": __version__, "python": platform.python_version()}
    for dist in ("torch", "numpy", "scipy", "scikit-learn", "torch_geometric", "networkx",
                 "matplotlib", "umap-learn", "faiss-cpu"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def _write_outputs(out_dir: Path, method: str, graph: Any, out: dict[str, Any],
                   summary: dict[str, dict[str, float]],
                   baselines: dict[str, dict[str, dict[str, float]]], *, device: str,
                   plots: bool, progress: bool) -> None:
    """metrics.json, labels.csv, embedding.npy, the PNGs and report.html, all or none."""
    from graphclust import report

    model = out["model"]
    record = {
        "method": method,
        "dataset": graph.name,
        "params": model.get_params(),
        "runs": out["runs"],
        "summary": summary,
        "baselines": baselines,
        "peak_rss_mb": out["peak_rss_mb"],
        "versions": _versions(),
        "device": str(getattr(model, "device_", device)),
        "git_commit": _git_commit(),
    }
    ids = graph.meta.get("node_ids") or range(graph.n_nodes)
    labels_csv = "node,label\n" + "".join(f"{_csv(i)},{c}\n" for i, c in zip(ids, model.labels_))
    embedding = getattr(model, "embedding_", None)  # a baseline without one: the features
    embedding = np.asarray(graph.dense_features() if embedding is None else embedding,
                           dtype=np.float32)
    files: dict[str, Any] = {
        "metrics.json": json.dumps(record, indent=2, default=str),
        "labels.csv": labels_csv,
        "embedding.npy": embedding,
    }
    images: dict[str, bytes] = {}
    if plots:
        if progress:
            print("drawing the embedding map and the training curves ...", file=sys.stderr)
        title = f"{method} on {graph.name}, seed {out['runs'][-1]['seed']}"
        images["embedding.png"] = report.embedding_map(embedding, model.labels_, graph.labels,
                                                         title=title)
        if graph.labels is not None and (graph.labels >= 0).any():
            images["confusion.png"] = report.confusion_heatmap(graph.labels, model.labels_,
                                                                 title=title)
        images["training.png"] = report.loss_curves(getattr(model, "history_", {}), title=title)
        files.update(images)
    files["report.html"] = report.html_report(record, images)
    _write_atomic(out_dir, files)
    print(f"wrote {out_dir}/: " + ", ".join(files))


def _csv(value: Any) -> str:
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def cmd_run(args: argparse.Namespace) -> int:
    from graphclust.datasets import load_dataset
    from graphclust.methods import METHODS

    if args.method not in METHODS:
        return _usage_error(f"unknown method {args.method!r}; choose from {', '.join(METHODS)}.")
    params = _resolve_params(METHODS[args.method], args.config, args.set or [])
    graph = _shared_graph() or load_dataset(args.dataset, args.root)
    return _fit_and_report(args, args.method, graph, params)


def _shared_graph() -> Any:
    """In a rank started by ``--nproc``: the graph the launcher shared (memory-mapped)."""
    from graphclust.distributed import SHARED_GRAPH_ENV, load_graph

    folder = os.environ.get(SHARED_GRAPH_ENV)
    return load_graph(folder) if folder else None


def _without_nproc(argv: list[str]) -> list[str]:
    """The command line given to each rank: the same, less ``--nproc N``."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def _launch_ranks(args: argparse.Namespace, graph: Any) -> int:
    """``--nproc N``: the same command as N ranks of torch.distributed on this machine,
    the graph written once to a temporary folder and memory-mapped by every rank."""
    from graphclust.distributed import launch

    with tempfile.TemporaryDirectory(prefix="graphclust-graph-") as folder:
        return launch(args.nproc, _without_nproc(args.argv), graph, folder)


def _fit_and_report(args: argparse.Namespace, method: str, graph: Any,
                    params: dict[str, Any]) -> int:
    from graphclust.base import resolve_device
    from graphclust.distributed import exit_rank, init_from_env

    if args.runs < 1:
        return _usage_error(f"--runs must be >= 1 but got {args.runs}.")
    if args.nproc < 1:
        return _usage_error(f"--nproc must be >= 1 but got {args.nproc}.")
    try:
        resolve_device(params.get("device", args.device))
    except ValueError as exc:
        return _usage_error(f"--device: {exc}")
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        if params.get("batch_size") is None:
            return _usage_error(f"--nproc {args.nproc} shards node batches among the ranks: "
                                "give the batch size per rank, e.g. --set batch_size=1024 "
                                "(DGI, GMIM).")
        return _launch_ranks(args, graph)
    # a rank of torch.distributed (--nproc, or torchrun on one or several machines): only
    # rank 0 reports and writes
    ranks = init_from_env(str(params.get("device", args.device)))
    if ranks.size == 1:
        return _fit_and_write(args, method, graph, params, ranks.rank)
    try:
        status = _fit_and_write(args, method, graph, params, ranks.rank)
    except BaseException:
        import torch.distributed

        torch.distributed.destroy_process_group()
        raise
    exit_rank(status)  # ends the process (see there why), everything written


def _fit_and_write(args: argparse.Namespace, method: str, graph: Any, params: dict[str, Any],
                   rank: int) -> int:
    """Fit, score, print the summary and write ``--out`` (rank 0 only under several ranks)."""
    if rank > 0:
        args.quiet, args.out, args.no_baselines = True, None, True
    progress = not args.quiet
    if getattr(args, "checkpoint", None) is not None:
        params = {**params, "checkpoint": str(args.checkpoint),
                  "checkpoint_every": args.checkpoint_every}
    out = run_method(method, graph, dict(params), runs=args.runs, seed=args.seed,
                     device=args.device, progress=progress)
    summary = summarize(out["runs"])
    baselines = ({} if args.no_baselines else
                 run_baselines(method, graph, out["n_clusters"], runs=args.runs,
                               seed=out["seed"], progress=progress))
    view = {"method": method, "summary": summary, "baselines": baselines}
    if rank > 0:
        return 0
    _print_summary(view, graph, args.runs, out["seed"])
    print(f"peak memory of the whole command: {out['peak_rss_mb']:.0f} MB")
    if args.out:
        _write_outputs(Path(args.out), method, graph, out, summary, baselines,
                       device=args.device, plots=not args.no_plots, progress=progress)
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from graphclust.datasets import load_edge_list_graph, load_feature_graph
    from graphclust.methods import METHODS

    if args.method not in METHODS:
        return _usage_error(f"unknown method {args.method!r}; choose from {', '.join(METHODS)}.")
    if (args.edges is None) == (args.knn is None):
        return _usage_error("give either --edges FILE (a graph) or --knn K (build a k-NN graph "
                            "from the features), not both and not neither.")
    params = _resolve_params(METHODS[args.method], args.config, args.set or [])
    params["n_clusters"] = args.k
    graph = _shared_graph()
    if graph is None and args.edges is not None:
        graph = load_edge_list_graph(args.edges, args.features, args.labels)
    elif graph is None:
        graph = load_feature_graph(args.features, args.labels, knn=args.knn)
    if not args.quiet:
        s = graph.stats()
        print("loaded: " + " ".join(f"{k}={v}" for k, v in s.items()), file=sys.stderr)
    return _fit_and_report(args, args.method, graph, params)


def cmd_bench(args: argparse.Namespace) -> int:
    from graphclust import bench

    return bench.run(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphclust", description="Deep clustering of attributed graphs.")
    p.add_argument("--version", action="version", version=f"graphclust {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=None,
                        help="data root (default: $GRAPHCLUST_DATA or ~/.cache/graphclust)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("datasets", parents=[common], help="list registered datasets and whether each is available")
    s.set_defaults(func=cmd_datasets)

    s = sub.add_parser("info", parents=[common], help="describe one dataset (and load it if present)")
    s.add_argument("name")
    s.add_argument("--load", action="store_true", help="download if missing, then load")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("methods", parents=[common], help="list methods and their parameters with defaults")
    s.set_defaults(func=cmd_methods)

    s = sub.add_parser("run", parents=[common], help="train a method on a dataset for several seeds")
    s.add_argument("method")
    s.add_argument("--dataset", required=True,
                   help="a registered name or the path of a graph file (.npz, .mat, _adj.npy)")
    _fit_arguments(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("cluster", parents=[common], help="cluster your own graph (edge list) "
                       "or feature table (k-NN graph)")
    s.add_argument("--features", required=True, type=Path,
                   help="node features: .csv/.tsv/.txt (optional id column first), .npy or .npz")
    s.add_argument("--edges", type=Path, help="edge list: 'source,target[,weight]' per line")
    s.add_argument("--knn", type=int, help="no edge list: build the k-NN graph with this k")
    s.add_argument("--labels", type=Path, help="optional true labels, for scoring only")
    s.add_argument("--k", type=int, required=True, help="number of clusters")
    s.add_argument("--method", default="gmim")
    _fit_arguments(s)
    s.set_defaults(func=cmd_cluster)

    from graphclust import bench

    s = sub.add_parser("bench", help="regenerate a paper table (mean ± std over seeds, "
                       "beside the paper's numbers)")
    bench.add_arguments(s)
    s.set_defaults(func=cmd_bench)
    return p


def _fit_arguments(s: argparse.ArgumentParser) -> None:
    """The options of every command that fits a method (run, cluster)."""
    s.add_argument("--runs", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="estimator parameter (random_state and device take the place of "
                   "--seed and --device)")
    s.add_argument("--config", type=Path, help="TOML file with estimator parameters")
    s.add_argument("--device", default="auto",
                   help="'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:i'")
    s.add_argument("--out", type=Path, help="folder for metrics.json, labels.csv, "
                   "embedding.npy, embedding.png, training.png and report.html")
    s.add_argument("--no-plots", action="store_true", help="skip the PNGs (t-SNE takes time)")
    s.add_argument("--no-baselines", action="store_true",
                   help="skip the k-means (features) and spectral (graph) baseline runs")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.add_argument("--checkpoint", type=Path, metavar="DIR",
                   help="save the fit's state to DIR every --checkpoint-every seconds; the "
                   "same command run again resumes there (DIR/run-<i> per run; GMIM, DGI)")
    s.add_argument("--checkpoint-every", type=float, default=300.0, metavar="SECONDS")
    s.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train as N data-parallel ranks of torch.distributed on this machine "
                   "(gloo on CPU, NCCL on CUDA; DGI and GMIM with --set batch_size=B per "
                   "rank); the graph is shared through memory-mapped files")
    s.add_argument("--mmap-threshold-mb", type=int, default=MMAP_THRESHOLD_BYTES >> 20,
                   help="glibc's mmap threshold in MiB, 1-32 (default 8): smaller blocks are "
                   "reused from the heap, larger ones mapped afresh. 32 makes AGCN ~20%% faster "
                   "(its blocks are 24 MB on ACM) at ~10%% more peak memory")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    mmap_mb = getattr(args, "mmap_threshold_mb", MMAP_THRESHOLD_BYTES >> 20)
    try:
        check_mmap_threshold_mb(mmap_mb, "--mmap-threshold-mb")
    except ValueError as exc:
        print(f"graphclust: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tune_malloc(mmap_mb << 20)
    try:
        return int(args.func(args))
    except USER_ERRORS as exc:
        # bad input (a file, a parameter, a dataset name, a memory budget): its message says
        # what was expected and how to fix it. Anything else is a bug of ours and keeps its
        # traceback.
        print(f"graphclust: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
