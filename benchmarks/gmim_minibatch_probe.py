"""GMIM on node batches against the full batch on one dataset, one configuration per line:
ACC, epochs per phase and seconds per phase, so that the phase where a gap opens shows.

    python benchmarks/gmim_minibatch_probe.py '[{"n_epochs": 0}, {"n_epochs": 0, "batch_size": 512}]'
        [--dataset cora] [--threads 1]

Each JSON object holds GMIM parameters (``seed`` gives ``random_state``, default 0);
``n_epochs=0`` stops after the pre-training (MI + k-means). Labels only score.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from graphclust import GMIM, evaluate, load_dataset


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("configs", help="a JSON list of GMIM parameter objects")
    p.add_argument("--dataset", default="cora")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = load_dataset(args.dataset)
    for cfg in json.loads(args.configs):
        seed = int(cfg.pop("seed", 0))
        t = time.perf_counter()
        m = GMIM(n_clusters=g.n_classes, random_state=seed, **cfg).fit(g)
        print(json.dumps({"seed": seed, **cfg, "acc": round(evaluate(g.labels, m.labels_)["acc"] * 100, 2),
                          "epochs": m.n_iter_per_phase_,
                          "seconds": {k: round(v, 1) for k, v in m.phase_seconds_.items()},
                          "total": round(time.perf_counter() - t, 1)}), flush=True)


if __name__ == "__main__":
    main()
