import json
import os
import subprocess
import sys

import pytest

from graphclust.cli import main
from graphclust.runtime import check_mmap_threshold_mb

from .conftest import requires_data


def test_datasets_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "embedded" in out and "cora" in out


@requires_data
def test_info_loads_present_dataset(capsys, data_root):
    assert main(["info", "cora", "--root", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert "nodes=2708 edges=5278" in out


def test_unknown_dataset_exits_nonzero(capsys):
    assert main(["info", "nope"]) == 2
    assert "Unknown dataset 'nope'" in capsys.readouterr().err


def test_run_writes_outputs(tmp_path, capsys):
    assert main(["run", "kmeans", "--dataset", "digits", "--runs", "2", "--out", str(tmp_path),
                 "--quiet", "--no-plots"]) == 0
    rec = json.loads((tmp_path / "metrics.json").read_text())
    assert len(rec["runs"]) == 2 and rec["summary"]["acc"]["mean"] > 0.6
    assert (tmp_path / "labels.csv").read_text().startswith("node,label\n0,")
    assert not any(p.name.startswith(".partial") for p in tmp_path.iterdir())
    assert "mean ± std" in capsys.readouterr().out


def test_run_single_seed_shows_value_without_spread(capsys):
    assert main(["run", "kmeans", "--dataset", "digits", "--quiet", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "±" not in out.split("\n", 1)[1] and "acc " in out
    assert "79.3" in out and "80.7" in out  # k-means and spectral on the digits graph


def test_unknown_set_key_exits_2_and_lists_valid(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "kmeans", "--dataset", "digits", "--set", "bogus=1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) bogus" in err and "n_init" in err


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "graphclust", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "graphclust" in out.stdout


def test_parse_set_values():
    from graphclust.cli import _parse_value

    assert _parse_value("3") == 3 and _parse_value("0.5") == 0.5
    assert _parse_value("(32,32,64,8)") == (32, 32, 64, 8)
    assert _parse_value("500,500") == (500, 500)
    assert _parse_value("false") is False and _parse_value("none") is None
    assert _parse_value("row") == "row"


def test_run_agcn_with_tuple_widths(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["run", "agcn", "--dataset", "csbm", "--set", "widths=(16,16,32,4)",
               "--set", "n_epochs=5", "--set", "pretrain_epochs=2", "--out", str(out),
               "--no-plots"])
    assert rc == 0
    assert json.loads((out / "metrics.json").read_text())["params"]["widths"] == [16, 16, 32, 4]


def test_run_writes_pictures_and_report(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "kmeans", "--dataset", "csbm", "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"metrics.json", "labels.csv", "embedding.npy", "embedding.png",
                     "confusion.png", "training.png", "report.html"}
    assert (out / "embedding.png").read_bytes().startswith(b"\x89PNG")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_runs_must_be_positive(capsys):
    assert main(["run", "kmeans", "--dataset", "digits", "--runs", "0"]) == 2
    assert "--runs must be >= 1 but got 0" in capsys.readouterr().err


# ------------------------------------------------------------------ graphclust cluster
def _user_graph(tmp_path):
    """String ids, duplicate and reversed edges, a self-loop and an isolated node."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = [f"n{i}" for i in range(40)]
    feats = tmp_path / "x.csv"
    feats.write_text("id," + ",".join(f"f{j}" for j in range(5)) + "\n" + "".join(
        f"{ids[i]}," + ",".join(f"{v:.3f}" for v in rng.normal(size=5) + 4 * (i < 20)) + "\n"
        for i in range(40)))
    lines = ["source,target"]
    for i in range(39):  # n39 stays isolated
        j = (i + 1) % 20 + 20 * (i >= 20)
        lines += [f"{ids[i]},{ids[j]}", f"{ids[j]},{ids[i]}", f"{ids[i]},{ids[j]}"]
    lines.append("n3,n3")
    edges = tmp_path / "e.csv"
    edges.write_text("\n".join(lines) + "\n")
    labels = tmp_path / "y.csv"
    labels.write_text("id,label\n" + "".join(f"{ids[i]},{'ab'[i >= 20]}\n" for i in range(40)))
    return edges, feats, labels


def _cluster(tmp_path, edges, feats, *extra):
    return main(["cluster", "--edges", str(edges), "--features", str(feats), "--k", "2",
                 "--method", "kmeans", "--out", str(tmp_path / "out"), "--quiet", "--no-plots",
                 *extra])


def test_cluster_user_edge_list_with_string_ids(tmp_path, capsys):
    edges, feats, labels = _user_graph(tmp_path)
    assert _cluster(tmp_path, edges, feats, "--labels", str(labels)) == 0
    rows = (tmp_path / "out" / "labels.csv").read_text().splitlines()
    assert rows[0] == "node,label" and rows[1].startswith("n0,") and len(rows) == 41
    rec = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert rec["summary"]["acc"]["mean"] == 1.0
    assert (tmp_path / "out" / "report.html").is_file()


def test_cluster_gmim_default_method(tmp_path):
    edges, feats, _ = _user_graph(tmp_path)
    rc = main(["cluster", "--edges", str(edges), "--features", str(feats), "--k", "2",
               "--set", "hidden=8", "--set", "n_epochs=3", "--set", "pretrain_epochs=5",
               "--out", str(tmp_path / "out"), "--quiet", "--no-plots"])
    assert rc == 0 and (tmp_path / "out" / "labels.csv").is_file()


def test_cluster_knn_from_features_only(tmp_path):
    _, feats, labels = _user_graph(tmp_path)
    rc = main(["cluster", "--knn", "5", "--features", str(feats), "--labels", str(labels),
               "--k", "2", "--method", "kmeans", "--out", str(tmp_path / "out"), "--quiet",
               "--no-plots"])
    assert rc == 0
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["dataset"] == "x"


def _assert_failed_cleanly(tmp_path, capsys, rc, *needles):
    err = capsys.readouterr().err
    assert rc == 2
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_cluster_truncated_edge_csv(tmp_path, capsys):
    edges, feats, _ = _user_graph(tmp_path)
    text = edges.read_text()
    edges.write_text(text + "n5")  # the last line cut in the middle
    n_lines = text.count("\n") + 1
    rc = _cluster(tmp_path, edges, feats)
    _assert_failed_cleanly(tmp_path, capsys, rc, f"{edges}, line {n_lines}",
                           "found 1 column(s); the file may be truncated")


def test_cluster_feature_file_with_wrong_row_count(tmp_path, capsys):
    edges = tmp_path / "e.csv"
    edges.write_text("0,1\n1,2\n2,3\n3,4\n")
    feats = tmp_path / "x.csv"
    feats.write_text("1,2\n3,4\n5,6\n7,8\n")  # 4 rows, node 4 has none
    rc = _cluster(tmp_path, edges, feats)
    _assert_failed_cleanly(tmp_path, capsys, rc, f"{edges}, line 4", "node id 4 is outside",
                           f"{feats} has 4 rows")


def test_cluster_non_numeric_feature_cell(tmp_path, capsys):
    edges, feats, _ = _user_graph(tmp_path)
    lines = feats.read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0] + ",abc"
    feats.write_text("\n".join(lines) + "\n")
    rc = _cluster(tmp_path, edges, feats)
    _assert_failed_cleanly(tmp_path, capsys, rc, f"{feats}, line 8, column 6",
                           "'abc' is not a number")


def test_cluster_needs_edges_or_knn(tmp_path, capsys):
    _, feats, _ = _user_graph(tmp_path)
    rc = main(["cluster", "--features", str(feats), "--k", "2", "--out", str(tmp_path / "out")])
    _assert_failed_cleanly(tmp_path, capsys, rc, "give either --edges FILE")


def test_cluster_knn_out_of_range(tmp_path, capsys):
    _, feats, _ = _user_graph(tmp_path)
    rc = main(["cluster", "--knn", "40", "--features", str(feats), "--k", "2",
               "--out", str(tmp_path / "out")])
    _assert_failed_cleanly(tmp_path, capsys, rc, "knn must be in [1, 39] for 40 nodes but got 40")


# ------------------------------------------------------------------ graphclust bench
def test_bench_lists_tables_and_rejects_unknown(capsys):
    assert main(["bench", "list"]) == 0
    assert "gmim-table2" in capsys.readouterr().out
    assert main(["bench", "nope"]) == 2
    assert "unknown table 'nope'; choose from gmim-table2" in capsys.readouterr().err


def test_bench_tables_trace_every_paper_number():
    from graphclust.bench import load_tables, paper_numbers
    from graphclust.methods import METHODS

    for name, spec in load_tables().items():
        assert "paper" not in spec, f"{name}: paper numbers belong to rows, by dataset"
        for row in spec["rows"]:
            assert row["method"] in METHODS and "label" in row, name
            datasets = ([row["dataset"]] if "dataset" in row
                        else row.get("datasets", spec.get("datasets")))
            for ds in datasets:
                paper = paper_numbers(name, row, ds)
                if paper is not None:
                    assert len(paper) == len(spec["metrics"]), (name, row["label"], ds)


def test_bench_finds_paper_numbers_by_row_and_dataset():
    from graphclust.bench import load_tables, paper_numbers

    spec = load_tables()["gmim-table4"]
    by_label = {row["label"]: row for row in spec["rows"]}
    assert paper_numbers("gmim-table4", by_label["MI+GMM"], "cora") == [67.69, 53.52]
    assert paper_numbers("gmim-table4", by_label["MI+GMM"], "citeseer") is None
    with pytest.raises(ValueError, match="paper must be a list of numbers or a table by dataset"):
        paper_numbers("t", {"label": "r", "paper": 3.0}, "cora")


def test_tune_malloc_on_glibc():
    import platform

    from graphclust.runtime import tune_malloc

    ok = tune_malloc()
    assert ok or platform.libc_ver()[0] != "glibc"


def test_tune_malloc_heap_keeps_freed_blocks(tmp_path):
    # in child processes (it changes malloc for the whole process): after heap=True, a
    # 256 MiB tensor allocated and freed in a loop (as a training step's blocks are) comes
    # back from the heap, not from the OS; with tune_malloc()'s defaults every round faults
    # its 65,536 pages in afresh. Two rounds first: torch asks for aligned memory, which one
    # freed block of exactly the size cannot hold, two coalesced can. Even so, about one
    # run in four faults in one round more (the first measured: the heap still growing
    # while torch's thread pool starts; seen in CI and here), so 5 rounds are measured and
    # at most one round's worth is allowed. torch, not NumPy, which asks for huge pages.
    import platform
    import subprocess
    import sys

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's mallopt")

    def faults(heap):
        code = (
            "import resource, torch\n"
            "from graphclust.runtime import tune_malloc\n"
            f"assert tune_malloc(heap={heap})\n"
            "for _ in range(2):\n"
            "    a = torch.ones(1 << 26); del a\n"
            "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(5):\n"
            "    a = torch.ones(1 << 26); del a\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        return int(out.stdout.strip())

    one_round = (256 << 20) // 4096  # 65,536 faults of 4 KiB pages
    assert faults(False) >= 5 * one_round  # the control: mmapped, every round from the OS
    assert faults(True) <= one_round + 1000


def test_mmap_threshold_is_checked_and_passed_to_every_run(tmp_path, monkeypatch, capsys):
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"], "mmap_threshold_mb": 32, "rows": [
        {"label": "r", "method": "kmeans", "dataset": "digits", "params": {}}]}}
    seen = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        seen.append(mmap_threshold_mb)
        return {"seed": seed, "seconds": 1.0, "acc": 0.5, "peak_mb": 10.0}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    assert main(["bench", "t", "--seeds", "2", "--out", str(tmp_path)]) == 0
    assert seen == [32, 32]
    assert "mmap threshold to 32 MiB" in (tmp_path / "t.md").read_text()
    table["t"]["mmap_threshold_mb"] = 64
    assert main(["bench", "t", "--seeds", "1", "--out", str(tmp_path)]) == 2
    assert "mmap_threshold_mb must be an int from 1 to 32 (MiB" in capsys.readouterr().err
    assert main(["run", "kmeans", "--dataset", "digits", "--mmap-threshold-mb", "0"]) == 2
    assert "--mmap-threshold-mb must be an int from 1 to 32" in capsys.readouterr().err
    with pytest.raises(ValueError, match="must be an int from 1 to 32 .* but got True"):
        check_mmap_threshold_mb(True)
    assert main(["run", "kmeans", "--dataset", "digits", "--mmap-threshold-mb", "32", "--quiet",
                 "--no-plots"]) == 0


def test_bench_resume_reuses_matching_runs_only(tmp_path, monkeypatch, capsys):
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "r", "method": "gmim", "dataset": "digits", "params": {"epochs": 1},
         "paper": [50.0]}]}}
    calls = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        calls.append((params["epochs"], seed))
        return {"seed": seed, "seconds": 1.0, "import_seconds": 0.5, "acc": 0.5 + seed / 10,
                "peak_mb": 10.0}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    out = str(tmp_path / "res")
    assert main(["bench", "t", "--seeds", "2", "--out", out]) == 0
    assert calls == [(1, 0), (1, 1)]
    assert main(["bench", "t", "--seeds", "3", "--out", out, "--resume"]) == 0
    assert calls[2:] == [(1, 2)]                       # seeds 0 and 1 reused
    md = (tmp_path / "res" / "t.md").read_text()
    assert "60.00 ± 8.16" in md and "2 of these runs were reused" in md
    assert "torch._dynamo at a process's first optimiser (0.5 s on average here" in md
    table["t"]["rows"][0]["params"] = {"epochs": 2}    # other parameters: nothing reused
    assert main(["bench", "t", "--seeds", "1", "--out", out, "--resume"]) == 0
    assert calls[3:] == [(2, 0)]
    (tmp_path / "res" / "t.json").write_text("[{\"row\": 1}]")
    capsys.readouterr()
    assert main(["bench", "t", "--seeds", "1", "--out", out, "--resume"]) == 2
    assert "cannot resume from" in capsys.readouterr().err


def test_bench_run_reports_fit_seconds_apart_from_torch_imports():
    from graphclust.bench import run_isolated

    r = run_isolated("kmeans", "csbm", {}, 0, 1, {"n_nodes": 60, "n_classes": 2, "n_features": 4})
    assert r["seconds"] > 0 and r["import_seconds"] >= 0 and 0 <= r["acc"] <= 1


def test_bench_stopped_mid_row_keeps_finished_seeds(tmp_path, monkeypatch):
    """A stop in the middle of a row loses only the run in progress; --resume picks up."""
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "r", "method": "gmim", "dataset": "digits", "params": {}, "paper": [50.0]}]}}
    calls = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        calls.append(seed)
        if seed == 2 and len(calls) == 3:
            raise KeyboardInterrupt            # the session stops during seed 2
        return {"seed": seed, "seconds": 1.0, "acc": 0.5, "peak_mb": 10.0}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    out = str(tmp_path / "res")
    with pytest.raises(KeyboardInterrupt):
        main(["bench", "t", "--seeds", "4", "--out", out])
    md = (tmp_path / "res" / "t.md").read_text()
    assert "r (2 of 4 seeds so far)" in md
    assert main(["bench", "t", "--seeds", "4", "--out", out, "--resume"]) == 0
    assert calls == [0, 1, 2, 2, 3]                    # seeds 0 and 1 were not rerun
    md = (tmp_path / "res" / "t.md").read_text()
    assert "so far" not in md and "2 of these runs were reused" in md


def test_bench_label_only_rows_share_one_fit(tmp_path, monkeypatch, capsys):
    """Rows that differ only in a label_only parameter are scored from one fit."""
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"],
                   "label_only": {"assign": {"kmeans": "kmeans_labels_",
                                             "mixture": "mixture_labels_"}},
                   "rows": [
        {"label": "km", "method": "gmim", "dataset": "digits",
         "params": {"epochs": 1, "assign": "kmeans"}, "paper": [50.0]},
        {"label": "gmm", "method": "gmim", "dataset": "digits",
         "params": {"epochs": 1, "assign": "mixture"}, "paper": [50.0]},
        {"label": "other", "method": "gmim", "dataset": "digits",
         "params": {"epochs": 2, "assign": "mixture"}, "paper": [50.0]}]}}
    calls = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, labelings=None,
                 mmap_threshold_mb=None, **kw):
        calls.append((params["epochs"], seed))
        assert labelings == ["kmeans_labels_", "mixture_labels_"]
        return {"seed": seed, "seconds": 1.0, "acc": 0.1, "peak_mb": 10.0, "labelings": {
            "kmeans_labels_": {"acc": 0.6}, "mixture_labels_": {"acc": 0.7 + params["epochs"] / 100}}}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    out = tmp_path / "res"
    assert main(["bench", "t", "--seeds", "2", "--out", str(out)]) == 0
    assert calls == [(1, 0), (1, 1), (2, 0), (2, 1)]       # rows km and gmm: one fit per seed
    md = (out / "t.md").read_text()
    assert "| km | digits | 60.00 ± 0.00" in md and "| gmm | digits | 71.00 ± 0.00" in md
    assert "| other | digits | 72.00 ± 0.00" in md
    assert "2 of these runs took their labels from the fit of an earlier row" in md
    runs = json.loads((out / "t.json").read_text())
    assert [r.get("shared_fit", False) for r in runs[1]["runs"]] == [True, True]
    table["t"]["rows"][1]["params"]["assign"] = "median"
    capsys.readouterr()
    assert main(["bench", "t", "--seeds", "1", "--out", str(out)]) == 2
    assert "assign = 'median' has no label set in the table's label_only" in capsys.readouterr().err


def test_bench_refits_when_the_shared_fit_lacks_a_rows_label_set(tmp_path, monkeypatch):
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"],
                   "label_only": {"cluster": {"gmm": "gmm_labels_", "umap": "umap_labels_"}},
                   "rows": [
        {"label": "gmm", "method": "ae", "dataset": "digits", "params": {"cluster": "gmm"}},
        {"label": "umap", "method": "ae", "dataset": "digits", "params": {"cluster": "umap"}}]}}
    calls = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, labelings=None,
                 required=None, **kw):
        calls.append((params["cluster"], required))
        sets = {"gmm_labels_": {"acc": 0.6}}
        if params["cluster"] == "umap":
            sets["umap_labels_"] = {"acc": 0.9}
        return {"seed": seed, "seconds": 1.0, "acc": 0.1, "peak_mb": 10.0, "labelings": sets}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    assert main(["bench", "t", "--seeds", "1", "--out", str(tmp_path)]) == 0
    assert calls == [("gmm", "gmm_labels_"), ("umap", "umap_labels_")]
    assert "| umap | digits | 90.00" in (tmp_path / "t.md").read_text()


def test_bench_shared_fit_scores_the_label_sets_it_has():
    """A label_only fit scores the label sets its parameters produce (only cluster='umap-gmm'
    runs UMAP) and fails only when its own row's set is missing."""
    from graphclust.bench import one_run

    params = {"cluster": "gmm", "widths": [16, 16, 4], "pretrain_epochs": 1,
              "pretrain_min_steps": 0, "n_init": 1}
    attrs = ["gmm_labels_", "kmeans_labels_", "umap_gmm_labels_"]
    out = one_run("ae", "digits", params, 0, 1, labelings=attrs, required="gmm_labels_")
    assert sorted(out["labelings"]) == ["gmm_labels_", "kmeans_labels_"]
    with pytest.raises(ValueError, match="set no umap_gmm_labels_, the label set its row"):
        one_run("ae", "digits", params, 0, 1, labelings=attrs, required="umap_gmm_labels_")


def test_bench_row_sets_listed_parameters_to_none(tmp_path, monkeypatch):
    """TOML has no null: ``none = [...]`` in a row passes those parameters as None."""
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "r", "method": "gmim", "dataset": "digits", "params": {"hidden": 8},
         "none": ["ppr_k"]}]}}
    seen = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        seen.append(dict(params))
        return {"seed": seed, "seconds": 1.0, "acc": 0.5, "peak_mb": 10.0}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    assert main(["bench", "t", "--seeds", "1", "--out", str(tmp_path)]) == 0
    assert seen == [{"hidden": 8, "ppr_k": None}]
    assert json.loads((tmp_path / "t.json").read_text())[0]["params"]["ppr_k"] is None


def test_bench_datasets_skips_rows_fixed_to_other_datasets(tmp_path, monkeypatch):
    from graphclust import bench

    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "a", "method": "kmeans", "dataset": "acm"},
        {"label": "b", "method": "kmeans", "dataset": "dblp"},
        {"label": "c", "method": "kmeans", "dataset": "cite"}]}}
    seen = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        seen.append(ds)
        return {"seed": seed, "seconds": 1.0, "acc": 0.5, "peak_mb": 10.0}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    args = ["bench", "t", "--seeds", "1", "--out", str(tmp_path), "--datasets", "acm", "cite"]
    assert main(args) == 0
    assert seen == ["acm", "cite"]


def _fake_bench(monkeypatch, table, extra=lambda seed: {}):
    """Run ``graphclust bench`` on ``table`` with a fake run: returns the (dataset, seed) list."""
    from graphclust import bench

    seen = []

    def fake_run(method, ds, params, seed, threads, ds_kwargs, mmap_threshold_mb=None, **kw):
        seen.append((ds, seed))
        return {"seed": seed, "seconds": 1.0, "acc": 0.5, "peak_mb": 10.0, **extra(seed)}

    monkeypatch.setattr(bench, "load_tables", lambda: table)
    monkeypatch.setattr(bench, "run_isolated", fake_run)
    return seen


def test_bench_rows_cap_their_seeds_and_list_their_datasets(tmp_path, monkeypatch, capsys):
    """Issue 23's protocol: 10 seeds for the headline rows, 5 for the rest, in one table."""
    table = {"t": {"title": "T", "metrics": ["acc"], "datasets": ["acm", "dblp", "cite"], "rows": [
        {"label": "a", "method": "kmeans", "dataset": "acm"},
        {"label": "b", "method": "kmeans", "datasets": ["dblp", "cite"], "seeds": 2}]}}
    seen = _fake_bench(monkeypatch, table)
    assert main(["bench", "t", "--seeds", "3", "--out", str(tmp_path)]) == 0
    assert seen == [("acm", 0), ("acm", 1), ("acm", 2), ("dblp", 0), ("dblp", 1),
                    ("cite", 0), ("cite", 1)]
    assert "| b (2 seeds) | dblp |" in capsys.readouterr().out
    table["t"]["rows"][1]["seeds"] = 0
    assert main(["bench", "t", "--seeds", "3", "--out", str(tmp_path / "x")]) == 2
    assert "seeds must be a positive int but got 0" in capsys.readouterr().err


def test_bench_table_lists_collapsed_runs_and_whether_they_warned(tmp_path, monkeypatch, capsys):
    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "a", "method": "kmeans", "dataset": "acm"}]}}
    _fake_bench(monkeypatch, table, lambda seed: {
        "clusters_used": 2 if seed < 2 else 3, "n_clusters": 3,
        "warnings": ["CollapseWarning: only 2 of 3"] if seed == 0 else []})
    assert main(["bench", "t", "--seeds", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "- a acm seed 0: 2 of 3 clusters used (warned)" in out
    assert "- a acm seed 1: 2 of 3 clusters used (NOT warned)" in out
    assert "seed 2:" not in out


def test_bench_built_in_parts_keeps_the_rows_of_earlier_commands(tmp_path, monkeypatch, capsys):
    table = {"t": {"title": "T", "metrics": ["acc"], "rows": [
        {"label": "a", "method": "kmeans", "dataset": "acm"},
        {"label": "b", "method": "kmeans", "dataset": "dblp"}]}}
    seen = _fake_bench(monkeypatch, table)
    out = ["--out", str(tmp_path), "--resume"]
    assert main(["bench", "t", "--rows", "1", "--seeds", "2", *out]) == 0
    assert main(["bench", "t", "--rows", "0", "--seeds", "1", *out]) == 0
    rows = json.loads((tmp_path / "t.json").read_text())
    assert [(r["row"], len(r["runs"])) for r in rows] == [("a", 1), ("b", 2)]
    assert "1 row carried over unchanged" in (tmp_path / "t.md").read_text()
    assert main(["bench", "t", "--seeds", "2", *out]) == 0  # only a's seed 1 is new
    assert seen == [("dblp", 0), ("dblp", 1), ("acm", 0), ("acm", 1)]


def test_bench_run_records_clusters_used_and_warnings():
    from graphclust.bench import one_run

    r = one_run("kmeans", "digits", {"n_init": 1}, 0, 1)
    assert r["clusters_used"] == r["n_clusters"] == 10 and isinstance(r["warnings"], list)


# ------------------------------------------------------------------ defects of the review
def test_set_random_state_and_device_take_the_place_of_seed_and_device(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "kmeans", "--dataset", "digits", "--runs", "2", "--set", "random_state=3",
                 "--set", "device=cpu", "--quiet", "--no-plots", "--out", str(out)]) == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert [r["seed"] for r in rec["runs"]] == [3, 4]
    assert rec["params"]["device"] == "cpu" and rec["params"]["random_state"] == 4


def test_device_accepts_any_torch_device_string(capsys):
    import torch

    rc = main(["run", "kmeans", "--dataset", "digits", "--device", "cuda:1", "--quiet",
               "--no-plots"])
    if torch.cuda.device_count() >= 2:
        assert rc == 0
    else:  # refused by the estimator's own check, not by the argument parser
        assert rc == 2
        assert "--device: device='cuda:1' was asked for but" in capsys.readouterr().err
    assert main(["run", "kmeans", "--dataset", "digits", "--device", "cpu", "--quiet",
                 "--no-plots"]) == 0


def test_user_errors_exit_2_but_library_bugs_keep_their_traceback(monkeypatch, capsys):
    from graphclust.methods import KMeansFeatures

    assert main(["run", "gmim", "--dataset", "digits", "--set", "hidden=-1", "--quiet"]) == 2
    assert "hidden must be an integer >= 1 but got -1" in capsys.readouterr().err

    def broken_fit(self, graph, y=None):
        raise TypeError("a bug inside the library")

    monkeypatch.setattr(KMeansFeatures, "fit", broken_fit)
    with pytest.raises(TypeError, match="a bug inside the library"):
        main(["run", "kmeans", "--dataset", "digits", "--quiet", "--no-plots"])


def test_peak_memory_is_the_whole_commands_not_a_per_run_average(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "kmeans", "--dataset", "digits", "--runs", "2", "--quiet", "--no-plots",
                 "--out", str(out)]) == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["peak_rss_mb"] > 0
    assert all("peak_rss_mb" not in r for r in rec["runs"])
    assert "peak_rss_mb" not in rec["summary"]


def test_toml_is_read_with_tomli_on_python_3_10(monkeypatch):
    # Python 3.10 has no tomllib: the bench tables and --config are read through tomli, and
    # no module imports tomllib at import time
    import importlib
    import sys
    import types

    import tomllib

    from graphclust import _compat, bench

    fake = types.ModuleType("tomli")
    fake.loads = lambda text: {"via": "tomli", **tomllib.loads(text)}
    monkeypatch.setitem(sys.modules, "tomli", fake)
    monkeypatch.setitem(sys.modules, "tomllib", None)  # "import tomllib" raises ImportError
    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    assert _compat.load_toml("a = 1") == {"via": "tomli", "a": 1}
    reloaded = importlib.reload(bench)
    assert "gmim-table2" in reloaded.load_tables()
    monkeypatch.undo()
    importlib.reload(bench)
    assert _compat.load_toml("a = 1") == {"a": 1}


def test_run_with_checkpoint_folder_per_run(tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main(["run", "dgi", "--dataset", "csbm", "--set", "hidden=8", "--set",
                 "pretrain_epochs=6", "--runs", "2", "--checkpoint", str(ck),
                 "--checkpoint-every", "0", "--quiet", "--no-plots", "--no-baselines"]) == 0
    # each run had its own folder; the checkpoints were removed when the fits ended
    assert sorted(p.name for p in ck.iterdir()) == ["run-0", "run-1"]
    assert not any(ck.rglob("*.pt"))
    assert main(["run", "kmeans", "--dataset", "csbm", "--checkpoint", str(ck), "--quiet",
                 "--no-plots", "--no-baselines"]) == 2
    assert "cannot resume from a checkpoint yet" in capsys.readouterr().err


def test_nproc_needs_a_batch_size(capsys):
    assert main(["run", "gmim", "--dataset", "csbm", "--nproc", "2", "--quiet"]) == 2
    assert "--set batch_size=1024" in capsys.readouterr().err
    assert main(["run", "gmim", "--dataset", "csbm", "--nproc", "0"]) == 2
    assert "--nproc must be >= 1 but got 0" in capsys.readouterr().err


def test_nproc_runs_two_ranks_and_rank_0_writes(tmp_path):
    """``--nproc 2``: torchrun starts two ranks over the memory-mapped graph; one set of
    outputs comes back."""
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "graphclust", "run", "gmim", "--dataset", "csbm", "--nproc", "2",
         "--set", "batch_size=256", "--set", "hidden=16", "--set", "pretrain_epochs=5",
         "--set", "n_epochs=3", "--set", "n_init=1", "--no-plots", "--no-baselines",
         "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["runs"]) == 1 and 0 <= metrics["runs"][0]["acc"] <= 1


def test_a_killed_bench_takes_its_run_with_it():
    # the run's child (spawned by bench.isolated) ends when the bench process is killed
    # (it used to keep the cores until its run ended)
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    # the run: a `sleep 120` the worker waits for (its start shows that the run is going)
    parent = subprocess.Popen([sys.executable, "-c",
                               "import subprocess\nfrom graphclust.bench import isolated\n"
                               "isolated(subprocess.call, ['sleep', '120'])\n"])

    def children(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(c) for c in f.read().split()]
        except FileNotFoundError:
            return []

    def cmdline(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ")[1][0] != "Z"
        except FileNotFoundError:
            return False

    worker, sleeper = None, None
    try:
        for _ in range(600):  # the spawned interpreter imports graphclust first
            found = [c for c in children(parent.pid) if "spawn_main" in cmdline(c)]
            sleeping = [c for w in found for c in children(w) if cmdline(c).startswith("sleep")]
            if sleeping:
                worker, sleeper = found[0], sleeping[0]
                break
            time.sleep(0.1)
        assert worker is not None, "the bench process's worker never started its run"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        for _ in range(100):
            if not alive(worker):
                break
            time.sleep(0.1)
        assert not alive(worker), "the run's process outlived the killed bench"
    finally:
        parent.kill()
        for pid in (worker, sleeper):
            if pid is not None and alive(pid):
                os.kill(pid, signal.SIGKILL)
