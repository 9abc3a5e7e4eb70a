"""Pictures and the HTML report of a run: a 2-D map of the embedding, loss curves, a page.

Every function returns bytes or text; none writes files or prints (the CLI does that).
Matplotlib draws with its file-only "Agg" backend, so no screen is needed.

- :func:`embedding_map` projects the embedding to 2-D with UMAP when ``umap-learn`` is
  installed, else scikit-learn's t-SNE (after PCA to 50 dimensions, as its docs advise for
  wide inputs). Above ``max_points`` nodes a seeded random subset is drawn, and the title
  says so: t-SNE costs O(N log N) per iteration and a picture of 200k points says no more
  than one of 5,000.
- :func:`loss_curves` draws every ``history_`` term, one panel per term.
- :func:`html_report` builds one self-contained page (images inlined as base64 data URIs).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["project_2d", "embedding_map", "loss_curves", "html_report"]


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
    panels = [("predicted cluster", np.asarray(predicted)[idx])]
    if true is not None and (np.asarray(true) >= 0).any():
        panels.append(("true label", np.asarray(true)[idx]))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.5), squeeze=False)
    size = max(2.0, min(12.0, 20000 / len(idx)))
    for ax, (name, colours) in zip(axes[0], panels):
        keep = colours >= 0
        ax.scatter(xy[keep, 0], xy[keep, 1], c=colours[keep], cmap="tab20", s=size,
                   linewidths=0)
        ax.set_title(f"{how}, coloured by {name}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle((title + note).strip())
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


def html_report(record: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """One self-contained HTML page for a run's ``record`` (the metrics.json content).

    ``images`` maps a caption to PNG bytes; each is inlined as a data URI.
    """
    esc = html.escape
    summary = record.get("summary", {})
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{v['mean']:.4f}</td><td>{v['std']:.4f}</td></tr>"
        for k, v in summary.items()
    )
    runs = record.get("runs", [])
    run_keys = list(runs[0]) if runs else []
    run_rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(k))}</td>" for k in run_keys) + "</tr>" for r in runs
    )
    figures = "".join(
        f'<figure><img alt="{esc(cap)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"><figcaption>{esc(cap)}</figcaption></figure>'
        for cap, png in images.items()
    )
    params = json.dumps(record.get("params", {}), indent=2, default=str)
    meta = {k: record.get(k) for k in ("versions", "device", "git_commit") if k in record}
    title = f"graphclust: {record.get('method', '?')} on {record.get('dataset', '?')}"
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
<p>{len(runs)} run(s). Metrics need true labels; without them only label-free ones appear.</p>
<h2>Summary</h2>
<table id="summary"><tr><th>metric</th><th>mean</th><th>std</th></tr>{rows}</table>
<h2>Runs</h2>
<table id="runs"><tr>{"".join(f"<th>{esc(k)}</th>" for k in run_keys)}</tr>{run_rows}</table>
<h2>Pictures (last run)</h2>
{figures}
<h2>Parameters</h2>
<pre>{esc(params)}</pre>
<h2>Environment</h2>
<pre>{esc(json.dumps(meta, indent=2, default=str))}</pre>
</body></html>
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))
