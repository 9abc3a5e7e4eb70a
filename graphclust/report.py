"""Pictures and the HTML report of a run: a 2-D map of the embedding, loss curves, a page.

Every function returns bytes or text; none writes files or prints (the CLI does that).
Matplotlib draws with its file-only "Agg" backend, so no screen is needed.

- :func:`embedding_map` projects the embedding to 2-D with UMAP when ``umap-learn`` is
  installed, else scikit-learn's t-SNE (after PCA to 50 dimensions, as its docs advise for
  wide inputs). Above ``max_points`` nodes a seeded random subset is drawn, and the title
  says so: t-SNE costs O(N log N) per iteration and a picture of 200k points says no more
  than one of 5,000.
  With true labels both panels share one palette: a class has its colour, and a predicted
  cluster takes the colour of the class the Hungarian matching pairs it with (the matching
  behind ACC); a cluster left unmatched is grey.
- :func:`confusion_heatmap` draws the cluster x class table, clusters in the order of their
  matched classes, so a good clustering shows a bright diagonal.
- :func:`loss_curves` draws every ``history_`` term, one panel per term.
- :func:`html_report` builds one self-contained page (images inlined as base64 data URIs):
  the scores in percent beside the baselines' (k-means on the features, spectral
  clustering of the graph), the label-free scores always, every resolved parameter and
  the versions.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["project_2d", "embedding_map", "confusion_heatmap", "loss_curves", "html_report",
           "palette", "UNMATCHED"]

#: the colour of a predicted cluster that no class is matched with
UNMATCHED = "#b0b0b0"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def project_2d(embedding: np.ndarray, *, random_state: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of ``embedding`` (n, d) and the name of the projection used."""
    x = np.asarray(embedding, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"Expected an embedding of shape (n >= 3, d) but got {x.shape}.")
    if x.shape[1] <= 2:
        return np.pad(x, ((0, 0), (0, 2 - x.shape[1]))), "raw"
    try:
        import umap  # type: ignore[import-not-found]

        return umap.UMAP(random_state=random_state).fit_transform(x), "UMAP"
    except ImportError:
        pass
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if x.shape[1] > 50:
        x = PCA(n_components=50, random_state=random_state).fit_transform(x)
    perplexity = float(min(30.0, (x.shape[0] - 1) / 3))
    y = TSNE(n_components=2, perplexity=perplexity, init="pca",
             random_state=random_state).fit_transform(x)
    return y, "t-SNE"


def palette(n: int) -> list[str]:
    """``n`` distinct colours (matplotlib's tab10 / tab20, then evenly spaced hues)."""
    plt = _pyplot()
    from matplotlib.colors import to_hex

    if n <= 10:
        return [to_hex(c) for c in plt.get_cmap("tab10").colors[:n]]
    if n <= 20:
        return [to_hex(c) for c in plt.get_cmap("tab20").colors[:n]]
    return [to_hex(plt.get_cmap("hsv")(i / n)) for i in range(n)]


def _matched_colours(predicted: np.ndarray, true: np.ndarray | None
                     ) -> tuple[list[str], list[str] | None]:
    """Colour per node for the predicted and the true panel (None without labels)."""
    from graphclust.metrics import match_clusters

    if true is None or not (true >= 0).any():
        clusters, inverse = np.unique(predicted, return_inverse=True)
        colours = palette(clusters.size)
        return [colours[i] for i in inverse], None
    classes = np.unique(true[true >= 0])
    by_class = dict(zip(classes.tolist(), palette(classes.size)))
    matched = match_clusters(true, predicted)
    pred = [by_class.get(int(c), UNMATCHED) for c in matched]
    return pred, [by_class.get(int(c), UNMATCHED) for c in true]


def embedding_map(
    embedding: np.ndarray,
    predicted: np.ndarray,
    true: np.ndarray | None = None,
    *,
    max_points: int = 5000,
    random_state: int = 0,
    title: str = "",
) -> bytes:
    """PNG of the 2-D map coloured by predicted cluster (and by true label when known).

    Nodes with true label -1 (unlabelled) are left out of the true-label panel only.
    """
    n = len(predicted)
    idx = np.arange(n)
    note = ""
    if n > max_points:
        idx = np.sort(np.random.default_rng(random_state).choice(n, max_points, replace=False))
        note = f" ({max_points:,} of {n:,} nodes, drawn at random)"
    xy, how = project_2d(np.asarray(embedding)[idx], random_state=random_state)
    plt = _pyplot()
    t = None if true is None else np.asarray(true).ravel()
    pred_colours, true_colours = _matched_colours(np.asarray(predicted).ravel(), t)
    panels = [("predicted cluster" + (" (matched class colours; grey: unmatched)"
                                      if true_colours is not None else ""),
               np.asarray(pred_colours)[idx], np.ones(idx.size, bool))]
    if true_colours is not None and t is not None:
        panels.append(("true label", np.asarray(true_colours)[idx], t[idx] >= 0))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.5), squeeze=False)
    size = max(2.0, min(12.0, 20000 / len(idx)))
    for ax, (name, colours, keep) in zip(axes[0], panels):
        ax.scatter(xy[keep, 0], xy[keep, 1], c=colours[keep], s=size, linewidths=0)
        ax.set_title(f"{how}, coloured by {name}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle((title + note).strip())
    return _png(fig)


def confusion_heatmap(true: np.ndarray, predicted: np.ndarray, *, title: str = "") -> bytes:
    """PNG of the cluster x class counts (labelled nodes only), clusters ordered by their
    matched class, unmatched clusters last; each cell shows its count."""
    from scipy.optimize import linear_sum_assignment

    from graphclust.metrics import contingency

    t, p = np.asarray(true).ravel(), np.asarray(predicted).ravel()
    keep = t >= 0
    table, classes, clusters = contingency(t[keep], p[keep])  # (classes, clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    order = [int(c) for _, c in sorted(zip(rows, cols))]
    order += [j for j in range(clusters.size) if j not in order]
    m = table[:, order].T  # (clusters, classes)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * classes.size, 1.0 + 0.5 * clusters.size))
    ax.imshow(m, cmap="Blues", aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if m[i, j] > 0.6 * m.max() else "black")
    ax.set_xticks(range(classes.size), [str(c) for c in classes])
    ax.set_yticks(range(len(order)), [str(clusters[j]) for j in order])
    ax.set_xlabel("true class")
    ax.set_ylabel("predicted cluster (ordered by matched class)")
    ax.set_title(title or "cluster x class counts", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def loss_curves(history: Mapping[str, Sequence[float]], *, title: str = "") -> bytes:
    """PNG with one panel per loss term of ``history_`` (keys "phase/term")."""
    plt = _pyplot()
    keys = [k for k, v in history.items() if len(v) > 0]
    if not keys:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.text(0.5, 0.5, "this method records no training curves", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    cols = min(3, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        values = np.asarray(history[key], dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, lw=1.2)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        if np.all(values > 0) and values.max() / max(values.min(), 1e-300) > 100:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return _png(fig)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
code, pre { background: #f7f7f7; }
pre { padding: 0.8em; overflow-x: auto; }
"""


#: scores shown in percent, in this order; the label-free ones need no true labels
LABEL_SCORES = ("acc", "nmi", "ari", "f1", "precision")
LABEL_FREE_SCORES = ("modularity", "conductance", "silhouette")


def _pct(stats: Mapping[str, float] | None) -> str:
    if not stats or stats.get("mean") is None or not np.isfinite(stats["mean"]):
        return "–"
    if stats.get("n", 2) == 1 or stats.get("std") is None:
        return f"{100 * stats['mean']:.1f}"
    return f"{100 * stats['mean']:.1f} ± {100 * stats['std']:.1f}"


def summary_rows(record: Mapping[str, Any]) -> list[list[str]]:
    """Rows (score, method, baseline 1, ...) in percent, for the CLI table and the page."""
    columns = [record.get("summary", {}), *record.get("baselines", {}).values()]
    keys = [k for k in (*LABEL_SCORES, *LABEL_FREE_SCORES)
            if any(k in c for c in columns)]
    rows = [[k + (" (label-free, lower is better)" if k == "conductance" else
                  " (label-free)" if k in LABEL_FREE_SCORES else ""),
             *(_pct(c.get(k)) for c in columns)] for k in keys]
    secs = [c.get("seconds") for c in columns]
    rows.append(["seconds", *("–" if v is None else f"{v['mean']:.1f}" for v in secs)])
    return rows


def summary_header(record: Mapping[str, Any]) -> list[str]:
    names = {"kmeans": "k-means on features", "spectral": "spectral on the graph"}
    return ["score (%)", str(record.get("method", "?")),
            *(names.get(b, b) for b in record.get("baselines", {}))]


def html_report(record: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """One self-contained HTML page for a run's ``record`` (the metrics.json content).

    ``images`` maps a caption to PNG bytes; each is inlined as a data URI.
    """
    esc = html.escape
    header = "".join(f"<th>{esc(h)}</th>" for h in summary_header(record))
    rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                   for r in summary_rows(record))
    runs = record.get("runs", [])
    run_keys = list(runs[0]) if runs else []
    run_rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(k, r.get(k))}</td>" for k in run_keys) + "</tr>"
        for r in runs
    )
    figures = "".join(
        f'<figure><img alt="{esc(cap)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"><figcaption>{esc(cap)}</figcaption></figure>'
        for cap, png in images.items()
    )
    params = "".join(f"<tr><td>{esc(str(k))}</td><td><code>{esc(repr(v))}</code></td></tr>"
                     for k, v in record.get("params", {}).items())
    meta = {k: record.get(k) for k in ("versions", "device", "git_commit", "peak_rss_mb")
            if k in record}
    title = f"graphclust: {record.get('method', '?')} on {record.get('dataset', '?')}"
    labelled = any(k in record.get("summary", {}) for k in LABEL_SCORES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{_CSS}</style>
<script>
// Self-check for tests and readers: how many images decoded, any script errors.
window.addEventListener("error", e => {{ document.documentElement.dataset.errors =
  (document.documentElement.dataset.errors || "") + e.message + ";"; }});
window.addEventListener("load", () => {{
  const imgs = Array.from(document.images);
  document.documentElement.dataset.imagesTotal = imgs.length;
  document.documentElement.dataset.imagesLoaded =
    imgs.filter(i => i.complete && i.naturalWidth > 0).length;
}});
</script></head>
<body>
<h1>{esc(title)}</h1>
<p>{len(runs)} run(s), mean ± std over seeds, scores in percent.
{"" if labelled else "The graph has no labels: only the label-free scores appear."}
The baselines ran on the same data and seeds: k-means on the node features alone, and
spectral clustering of the graph alone. A method that does not beat them has not earned
its cost on this data.</p>
<h2>Summary</h2>
<table id="summary"><tr>{header}</tr>{rows}</table>
<h2>Pictures (last run)</h2>
{figures}
<h2>Runs</h2>
<table id="runs"><tr>{"".join(f"<th>{esc(k)}</th>" for k in run_keys)}</tr>{run_rows}</table>
<h2>Parameters (all, as resolved)</h2>
<table id="params"><tr><th>parameter</th><th>value</th></tr>{params}</table>
<h2>Environment</h2>
<pre>{esc(json.dumps(meta, indent=2, default=str))}</pre>
</body></html>
"""


def _cell(key: str, value: Any) -> str:
    if isinstance(value, float):
        if key in (*LABEL_SCORES, *LABEL_FREE_SCORES):
            return f"{100 * value:.2f}"
        return f"{value:.2f}"
    return html.escape(str(value))
