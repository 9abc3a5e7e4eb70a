"""How DGG's (or VaDE's) labels move during the joint phase: ACC / NMI of argmax q(c | mu(x))
every ``--every`` epochs, with the epoch's ELBO.

``python benchmarks/dgg_dynamics.py --dataset mnist-test --seed 0 --set n_epochs=300``

A diagnostic for the docs' "where the points go": labels score the snapshots and steer
nothing (the fit is the same with or without this script's callback).
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from _phase_probe import probe  # noqa: E402  (benchmarks/ is the script's folder)

from graphclust import DGG, VaDE, evaluate, load_dataset
from graphclust.cli import _parse_value
from graphclust.runtime import tune_malloc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=["vade", "dgg"], default="dgg")
    p.add_argument("--dataset", default="mnist-test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    tune_malloc()
    torch.set_num_threads(2)
    params = {k: _parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    g = load_dataset(args.dataset, k=0) if args.dataset.startswith("fashion") else load_dataset(args.dataset)
    x = torch.as_tensor(g.dense_features())
    cls = {"vade": VaDE, "dgg": DGG}[args.method]
    m = cls(g.n_classes, random_state=args.seed, **params)
    t0 = time.perf_counter()
    print(f"{cls.__name__} on {args.dataset}, seed {args.seed}, {params or 'defaults'}")
    print("| epoch | ACC | NMI | ELBO | s |\n|---|---|---|---|---|")

    def score(model, epoch, losses):
        m.model_ = model
        with torch.no_grad():
            mu = model["encoder"](x)[0]
            labels = m._responsibilities(mu).argmax(1).numpy()
        r = evaluate(g.labels, labels)
        print(f"| {epoch + 1} | {100 * r['acc']:.2f} | {100 * r['nmi']:.2f} | "
              f"{losses['elbo']:.2f} | {time.perf_counter() - t0:.0f} |", flush=True)

    probe(m, "joint", args.every, score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(g)
    start = evaluate(g.labels, m.pretrain_labels_)
    end = evaluate(g.labels, m.labels_)
    print(f"\nstart (AE + GMM) {100 * start['acc']:.2f} / {100 * start['nmi']:.2f}; final "
          f"{100 * end['acc']:.2f} / {100 * end['nmi']:.2f}; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
