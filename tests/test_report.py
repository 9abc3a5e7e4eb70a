"""The pictures and the HTML report: bytes out, self-contained page, renders in Chromium."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from graphclust import report
from graphclust.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _blobs(n=120, k=3, d=8, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    return rng.normal(size=(n, d)) + 6 * np.eye(k, d)[y], y


def test_project_2d_shape_and_method():
    x, _ = _blobs()
    xy, how = report.project_2d(x)
    assert xy.shape == (120, 2) and how in ("t-SNE", "UMAP")
    xy, how = report.project_2d(x[:, :2])
    assert how == "raw" and np.allclose(xy, x[:, :2])


def test_project_2d_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"Expected an embedding of shape \(n >= 3, d\)"):
        report.project_2d(np.zeros(5))


def test_embedding_map_png_and_subsampling():
    x, y = _blobs()
    png = report.embedding_map(x, y, y, max_points=60, title="t")
    assert png.startswith(PNG) and len(png) > 5000
    # unlabelled nodes (-1) only leave the true-label panel
    assert report.embedding_map(x, y, np.full_like(y, -1)).startswith(PNG)


def test_loss_curves_png_even_without_history():
    h = {"pretrain/mi": list(np.geomspace(1, 1e-3, 50)), "joint/nll": [3.0, 2.0, 1.0]}
    assert report.loss_curves(h).startswith(PNG)
    assert report.loss_curves({}).startswith(PNG)


def _record():
    return {"method": "gmim", "dataset": "toy <&>", "params": {"hidden": 8},
            "runs": [{"seed": 0, "acc": 0.5}], "summary": {"acc": {"mean": 0.5, "std": 0.0}}}


def test_html_report_is_self_contained_and_escaped():
    x, y = _blobs()
    page = report.html_report(_record(), {"map": report.embedding_map(x, y)})
    assert page.count("data:image/png;base64,") == 1
    assert "toy &lt;&amp;&gt;" in page and "toy <&>" not in page
    assert "src=\"http" not in page and "<link" not in page  # nothing fetched from outside


def _chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("GRAPHCLUST_REQUIRE_CHROMIUM"):
            pytest.fail("GRAPHCLUST_REQUIRE_CHROMIUM is set but chromium is not installed")
        pytest.skip("headless Chromium not installed (Debian package 'chromium')")
    return path


def _render(chromium, html_path, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", html_path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2000",
                    html_path.as_uri()], capture_output=True, timeout=120)
    return dom, shot


def test_cli_report_renders_in_headless_chromium(tmp_path):
    chromium = _chromium()
    out = tmp_path / "r"
    assert main(["run", "kmeans", "--dataset", "csbm", "--out", str(out), "--quiet"]) == 0
    dom, shot = _render(chromium, out / "report.html", tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # the embedding map, the confusion heatmap, the training curves
    assert 'data-images-total="3"' in html and 'data-images-loaded="3"' in html, html[:500]
    assert "data-errors" not in html
    assert "<table id=\"summary\">" in html
    assert "<th>spectral on the graph</th>" in html and "modularity (label-free)" in html
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 10_000


def test_panels_share_matched_class_colours_and_unmatched_clusters_are_grey():
    true = np.array([0, 0, 1, 1, 2, 2, 2])
    # cluster 7 holds class 0, cluster 3 class 1, cluster 5 class 2; cluster 9 is left over
    pred = np.array([7, 7, 3, 3, 5, 5, 9])
    pred_colours, true_colours = report._matched_colours(pred, true)
    assert pred_colours[:6] == true_colours[:6]
    assert pred_colours[6] == report.UNMATCHED and true_colours[6] != report.UNMATCHED
    assert len(set(true_colours)) == 3


def test_confusion_heatmap_png():
    true = np.array([0, 0, 1, 1, 2, 2, -1])
    assert report.confusion_heatmap(true, np.array([2, 2, 0, 1, 1, 1, 0])).startswith(PNG)


def test_summary_in_percent_beside_the_baselines():
    record = {"method": "gmim", "summary": {"acc": {"mean": 0.7468, "std": 0.01, "n": 2},
                                            "modularity": {"mean": 0.8, "std": 0.0, "n": 2},
                                            "seconds": {"mean": 2.0, "std": 0.1, "n": 2}},
              "baselines": {"kmeans": {"acc": {"mean": 0.792, "std": 0.0, "n": 2},
                                       "seconds": {"mean": 0.1, "std": 0.0, "n": 2}}}}
    assert report.summary_header(record) == ["score (%)", "gmim", "k-means on features"]
    rows = report.summary_rows(record)
    assert rows[0] == ["acc", "74.7 ± 1.0", "79.2 ± 0.0"]
    assert rows[1] == ["modularity (label-free)", "80.0 ± 0.0", "–"]
