"""Diagnostic: what GCC's (or SimCLR's) representation and cluster head reach along a fit.

``python benchmarks/gcc_probe.py --method simclr --dataset usps [--every 10] [--set KEY=VALUE ...]``

Every ``--every`` epochs (and at the last) the clean inputs are encoded with the model of that
moment and scored against the true labels: k-means of h (what SimCLR + k-means would report if
it stopped there) and, in GCC's graph epochs, argmax of the cluster head. **Diagnostic only**:
the labels score the checkpoints, nothing is chosen by them, and the fit itself is the
estimator's own (its final labels are what a table reports). Prints one line per checkpoint
and a markdown table at the end.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans

from graphclust import evaluate, load_dataset
from graphclust.cli import _parse_value
from graphclust.methods import METHODS
from graphclust.nn.augment import resize_images
from graphclust.runtime import tune_malloc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="gcc", choices=["gcc", "simclr"])
    p.add_argument("--dataset", default="usps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save", help="write the fitted estimator here (torch.save), to probe it "
                                  "further without refitting")
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(args.threads)
    params = {k: _parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    g = load_dataset(args.dataset)
    est = METHODS[args.method](g.n_classes, random_state=args.seed, **params)
    shape = g.meta.get("image_shape")
    feats = g.dense_features().astype(np.float32)
    clean = torch.as_tensor(feats.reshape(-1, *shape) if shape is not None else feats)
    if shape is not None and params.get("image_size"):
        clean = resize_images(clean, int(params["image_size"]))
    rows: list[str] = []
    t0 = time.perf_counter()

    def checkpoint(phase: str, epoch: int, n_epochs: int, losses: dict[str, float]) -> None:
        if (epoch + 1) % args.every and epoch + 1 != n_epochs:
            return
        model = est.model_
        if est.backbone_ == "mlp" and clean.shape[1] != model["backbone"].net[0].in_features:
            return  # propagated inputs: not probed here
        t = time.perf_counter()
        model.eval()
        with torch.no_grad():
            h = torch.cat([model["backbone"](clean[s:s + 1024]) for s in range(0, len(clean), 1024)])
            q = model["cluster"](h).view(len(h), est.n_heads, -1).argmax(2).numpy()
        model.train()
        km = KMeans(g.n_classes, n_init=3, random_state=0).fit_predict(h.numpy())
        s_km = evaluate(g.labels, km)
        accs = [100 * evaluate(g.labels, q[:, i])["acc"] for i in range(q.shape[1])]
        head = ("-" if phase != "gcc" or "rgc" not in losses else f"{accs[0]:.2f}"
                if len(accs) == 1 else f"{np.mean(accs):.2f} ({min(accs):.2f}-{max(accs):.2f})")
        loss = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
        line = (f"| {epoch + 1} | {phase} | {100 * s_km['acc']:.2f} | {100 * s_km['nmi']:.2f} | "
                f"{head} | {loss} | {t - t0:.0f} |")
        rows.append(line)
        print(line, flush=True)

    est.epoch_callback = checkpoint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(g)
    if args.save:
        est.epoch_callback = None
        torch.save(est, args.save)
    final = evaluate(g.labels, est.labels_)
    if getattr(est, "head_losses_", None) is not None and len(est.head_losses_) > 1:
        print(f"head kept: {est.head_} of losses {np.round(est.head_losses_, 4).tolist()}")
    print(f"\n{args.method} on {args.dataset}, seed {args.seed}, {params or 'defaults'}: final "
          f"labels ACC {100 * final['acc']:.2f} NMI {100 * final['nmi']:.2f} in "
          f"{time.perf_counter() - t0:.0f} s (diagnostic scores above: labels only score)\n")
    print("| epoch | phase | k-means(h) ACC | k-means(h) NMI | head ACC | losses | s |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
