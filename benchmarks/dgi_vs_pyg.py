"""DGI on Cora, ours vs PyTorch Geometric's DeepGraphInfomax + GCNConv, side by side.

Same settings for both: hidden 512, Adam lr 0.001, row-normalised features, the same
number of epochs (``--epochs``, default 200, no early stopping so the work is equal).
Ours runs the library's DGI pre-training (the base class's training loop, with a patience
longer than the run); both run in one process with the CLI's malloc settings (``tune_malloc``), as
``graphclust`` runs them (``--no-tune-malloc`` for glibc's defaults).
Reports seconds per epoch and the whole training time of each, and the speed-up.
``python benchmarks/dgi_vs_pyg.py [--epochs 200] [--threads 2] [--no-tune-malloc]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-tune-malloc", action="store_true", help="keep glibc's malloc defaults")
    args = p.parse_args()
    if not args.no_tune_malloc:
        from graphclust.runtime import tune_malloc

        tune_malloc()
    torch.set_num_threads(args.threads)
    from torch_geometric.nn import DeepGraphInfomax, GCNConv

    from graphclust import load_dataset
    from graphclust.bench import import_torch_optim
    from graphclust.methods.dgi import DGI
    from graphclust.preprocessing import row_normalize

    g = load_dataset("cora")
    dev = torch.device("cpu")
    xn = row_normalize(g.features)

    # ours: the pre-training phase of DGI alone (S and X prepared outside the timer)
    import warnings

    ours = DGI(g.n_classes, hidden=512, lr=1e-3, pretrain_epochs=args.epochs,
               patience=args.epochs + 1, random_state=0, device="cpu")
    ours._phases = {}
    rng = np.random.default_rng(0)
    x, s = ours._prepare(g, dev, rng)
    import_torch_optim()  # torch's one-off import of torch._dynamo, untimed
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # no early stop on purpose: the budget-ran-out warning
        warnings.simplefilter("ignore")
        ours._pretrain(x, s, dev, rng)
    t_ours = time.perf_counter() - t0
    assert ours._phases["pretrain"].epochs == args.epochs

    # PyG
    torch.manual_seed(0)
    data = g.to_pyg()
    data.x = torch.from_numpy(np.asarray(xn.toarray(), dtype=np.float32))

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = GCNConv(data.x.shape[1], 512, cached=True)
            self.act = torch.nn.PReLU(512)

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            return self.act(self.conv(x, edge_index))

    model = DeepGraphInfomax(
        512, encoder=Encoder(), summary=lambda z, *a, **k: torch.sigmoid(z.mean(0)),
        corruption=lambda x, ei: (x[torch.randperm(x.size(0))], ei),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        opt.zero_grad()
        pz, nz, summ = model(data.x, data.edge_index)
        model.loss(pz, nz, summ).backward()
        opt.step()
    t_pyg = time.perf_counter() - t0
    print(f"epochs={args.epochs} threads={args.threads} tune_malloc={not args.no_tune_malloc}")
    print(f"graphclust DGI: {t_ours:.2f} s ({1000 * t_ours / args.epochs:.1f} ms/epoch)")
    print(f"PyG DeepGraphInfomax+GCNConv: {t_pyg:.2f} s ({1000 * t_pyg / args.epochs:.1f} ms/epoch)")
    print(f"speed-up: {t_pyg / t_ours:.2f}x")


if __name__ == "__main__":
    main()
