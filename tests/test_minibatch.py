"""Mini-batch DGI/GMIM (``batch_size``) and data-parallel training on torch.distributed."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust import DGI, GMIM, evaluate, make_csbm
from graphclust.distributed import World, load_graph, save_graph, shard
from graphclust.nn.infomax import InfomaxModel
from graphclust.nn.sparse import BatchPropagation, FixedMatrix

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph():
    return make_csbm(n_nodes=400, n_classes=3, avg_degree=6, homophily=0.9, n_features=20,
                     feature_signal=0.5, random_state=0)


def _tiny():
    s = sp.csr_matrix(np.array([[0.5, 0.25, 0.0, 0.25], [0.2, 0.6, 0.2, 0.0],
                                [0.0, 0.3, 0.4, 0.3], [0.1, 0.0, 0.1, 0.8]], dtype=np.float32))
    x = np.array([[1, 0, 2], [0, 3, 0], [4, 0, 0], [0, 1, 1]], dtype=np.float32)
    return s, x


CPU = torch.device("cpu")


@pytest.mark.parametrize("mode", ["rows", "project"])
@pytest.mark.parametrize("sparse_x", [False, True])
@pytest.mark.parametrize("low_rank", [False, True])
def test_batch_products_are_rows_of_s_x_w_and_of_the_corrupted_product(mode, sparse_x,
                                                                          low_rank):
    s, x = _tiny()
    gen = np.random.default_rng(0)
    factors = None
    full = s.toarray()
    if low_rank:
        factors = (gen.normal(size=(4, 2)).astype(np.float32),
                   gen.normal(size=(2, 4)).astype(np.float32))
        full = full + factors[0] @ factors[1]
    perm = np.array([2, 0, 3, 1])
    prop = BatchPropagation(s, sp.csr_matrix(x) if sparse_x else x, factors, CPU, 2, mode=mode)
    assert prop.mode == mode
    prop.set_corruption(perm)
    w = torch.randn(3, 5, dtype=torch.float32, requires_grad=True)
    idx = np.array([3, 1])
    z, z_neg = prop.products(idx, w)
    wn = w.detach().numpy()
    np.testing.assert_allclose(z.detach().numpy(), (full @ x @ wn)[idx], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(z_neg.detach().numpy(), (full @ x[perm] @ wn)[idx], rtol=1e-4,
                               atol=1e-5)
    # the gradient to W: d/dW sum(z * g) = ((S X)[idx])^T g
    g = torch.randn(2, 5)
    (grad,) = torch.autograd.grad((z * g).sum() + (z_neg * g).sum(), w)
    want = (full @ x)[idx].T @ g.numpy() + (full @ x[perm])[idx].T @ g.numpy()
    np.testing.assert_allclose(grad.numpy(), want, rtol=1e-4, atol=1e-5)


def test_batch_products_choose_the_cheaper_way():
    s, x = _tiny()
    # narrow dense features: the rows of S X; wide sparse ones: X W once per step
    assert BatchPropagation(s, x, None, CPU, 2).mode == "rows"
    wide = sp.random(4, 500, density=0.01, format="csr", random_state=0, dtype=np.float32)
    assert BatchPropagation(s, wide, None, CPU, 4).mode == "project"
    with pytest.raises(ValueError, match="mode must be 'auto', 'rows' or 'project'"):
        BatchPropagation(s, x, None, CPU, 2, mode="both")


def test_batch_products_need_a_corruption_first():
    s, x = _tiny()
    with pytest.raises(RuntimeError, match="set_corruption"):
        BatchPropagation(s, x, None, CPU, 2).products(np.array([0]), torch.ones(3, 2))


@pytest.mark.parametrize("mode", ["rows", "project"])
def test_one_batch_of_every_node_is_the_full_batch_forward(mode):
    s, x = _tiny()
    torch.manual_seed(0)
    model = InfomaxModel(3, 5)
    perm = np.array([2, 0, 3, 1])
    prop = BatchPropagation(s, x, None, CPU, 4, mode=mode)
    prop.set_corruption(perm)
    got = model.forward_batch(prop, np.arange(4))
    want = model(FixedMatrix(torch.as_tensor(x)), FixedMatrix(torch.as_tensor(s.toarray())),
                 torch.as_tensor(perm))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.embed_batch(prop, np.arange(4)), want[2], rtol=1e-5,
                               atol=1e-5)


def test_shard_splits_a_batch_among_the_ranks():
    batch = np.arange(7)
    parts = [shard(batch, World(r, 3)) for r in range(3)]
    assert [len(p) for p in parts] == [3, 2, 2]
    np.testing.assert_array_equal(np.concatenate(parts), batch)
    assert shard(batch, World()) is batch


@pytest.mark.parametrize("steps", ["epoch", "batch"])
@pytest.mark.parametrize("cls", [DGI, GMIM])
def test_minibatch_fit_clusters_the_generated_graph(graph, cls, steps):
    common = dict(hidden=32, pretrain_epochs=80, patience=10, n_init=3, random_state=0,
                  device="cpu")
    if cls is GMIM:
        common["n_epochs"] = 20
    full = cls(n_clusters=3, **common).fit(graph)
    mini = cls(n_clusters=3, batch_size=64, batch_steps=steps, **common).fit(graph)
    acc_full = evaluate(graph.labels, full.labels_)["acc"]
    acc_mini = evaluate(graph.labels, mini.labels_)["acc"]
    # the graph carries the signal (features alone: k-means ~0.6 here)
    assert acc_mini > 0.85 and acc_mini > acc_full - 0.05, (acc_mini, acc_full)
    assert mini.embedding_.shape == (graph.n_nodes, 32)
    # repeatable
    again = cls(n_clusters=3, batch_size=64, batch_steps=steps, **common).fit(graph)
    np.testing.assert_array_equal(again.labels_, mini.labels_)


@pytest.mark.parametrize("low_rank", [False, True])
def test_deferred_batches_hand_their_gradient_to_the_last(low_rank):
    """``products(defer=True)`` (one step an epoch, "project" mode): X W is formed once for
    the epoch's batches and W gets the sum of their gradients at the last batch's backward,
    equal to each batch taking its own; a changed W (an optimiser step) forms X W anew."""
    s, x = _tiny()
    gen = np.random.default_rng(1)
    factors = ((gen.normal(size=(4, 2)).astype(np.float32),
                gen.normal(size=(2, 4)).astype(np.float32)) if low_rank else None)
    batches = [np.array([3, 1]), np.array([0]), np.array([2])]
    g = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    grads = []
    for defer in (False, True):
        prop = BatchPropagation(s, sp.csr_matrix(x), factors, CPU, 2, mode="project",
                                shared=True)
        prop.set_corruption(np.array([2, 0, 3, 1]))
        w = torch.randn(3, 5, generator=torch.Generator().manual_seed(2), requires_grad=True)
        for i, idx in enumerate(batches):
            z, z_neg = prop.products(idx, w, defer=defer and i < len(batches) - 1)
            (z * g[idx]).sum().add((z_neg * g[idx]).sum() * 0.5).backward()
            if defer and i < len(batches) - 1 and not low_rank:
                assert w.grad is None  # the deferred batches leave W's gradient for later
        grads.append(w.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-5)
    # an optimiser step changes W in place (fused Adam: without bumping its version
    # counter): the next products use the new W
    from graphclust.base import make_adam

    with torch.no_grad():  # an embedding pass stores X W of this W
        prop.products(np.array([0]), w, corrupted=False)
    make_adam([w], 0.5).step()
    want = (s.toarray() + (factors[0] @ factors[1] if low_rank else 0)) @ x @ w.detach().numpy()
    with torch.no_grad():  # an embedding pass, as GMIM's EM step takes
        z, _ = prop.products(np.array([0, 2]), w, corrupted=False)
    np.testing.assert_allclose(z.numpy(), want[[0, 2]], rtol=1e-4, atol=1e-4)
    z, _ = prop.products(np.array([1, 3]), w, corrupted=False, defer=True)
    np.testing.assert_allclose(z.detach().numpy(), want[[1, 3]], rtol=1e-4, atol=1e-4)


def test_accumulated_batches_take_the_full_batch_step():
    """batch_steps="epoch" (``_train(accumulate=True)``): the gradients of the epoch's
    batches, weighted by their share of the nodes, sum to the full-batch gradient of the
    mean loss, so one Adam step lands where the full batch's does."""
    from graphclust.base import BaseGraphClusterer

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 3, generator=gen), torch.randn(10, generator=gen)
    ends, lasts = [], []
    for batches in ([np.arange(10)], [np.arange(4), np.arange(4, 10)]):
        est = BaseGraphClusterer()
        est.history_, est._phases, est.phase_seconds_ = {}, {}, {}
        lin = torch.nn.Linear(3, 1)
        torch.nn.init.ones_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        seen = []

        def step(epoch, idx, last, lin=lin, seen=seen):
            seen.append(last)
            loss = ((lin(x[idx]).squeeze(1) - y[idx]) ** 2).mean()
            return loss, {}

        est._train("fit", lin, step, n_epochs=3, lr=0.1, batches=lambda e, b=batches: b,
                   accumulate=True)
        ends.append(lin.weight.detach().clone())
        lasts.append(seen)
    torch.testing.assert_close(ends[0], ends[1])
    # the step hears which batch ends the epoch's gradient
    assert lasts == [[True] * 3, [False, True] * 3]


def test_minibatch_bad_parameters(graph):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        GMIM(n_clusters=3, batch_size=0).fit(graph)
    with pytest.raises(ValueError, match="batch_size needs a sparse S"):
        GMIM(n_clusters=3, batch_size=32, ppr_k=None).fit(graph)
    with pytest.raises(ValueError, match="kmeans_batch_size must be an integer >= 1"):
        DGI(n_clusters=3, kmeans_batch_size=-5).fit(graph)
    with pytest.raises(ValueError, match="batch_steps must be one of 'epoch', 'batch'"):
        DGI(n_clusters=3, batch_size=32, batch_steps="step").fit(graph)
    with pytest.raises(ValueError, match="grad_steps=2 with batch_size"):
        GMIM(n_clusters=3, batch_size=32, grad_steps=2).fit(graph)


def test_minibatch_kmeans_for_the_final_clustering(graph):
    common = dict(n_clusters=3, hidden=16, pretrain_epochs=30, patience=10, n_epochs=5, n_init=2,
                  random_state=0, device="cpu")
    full = GMIM(**common).fit(graph)
    mini = GMIM(kmeans_batch_size=100, **common).fit(graph)
    assert type(mini.cluster_centers_) is np.ndarray and mini.cluster_centers_.shape == (3, 16)
    # the init and final k-means by mini-batches: on this easy graph the partitions agree
    assert evaluate(full.labels_, mini.labels_)["acc"] > 0.8


def test_shared_graph_files_round_trip(graph, tmp_path):
    save_graph(graph, tmp_path)
    back = load_graph(tmp_path)
    assert (back.adjacency != graph.adjacency).nnz == 0
    np.testing.assert_array_equal(back.features, graph.features)
    np.testing.assert_array_equal(back.labels, graph.labels)
    assert not back.adjacency.data.flags.writeable  # mapped, not copied
    with pytest.raises(ValueError, match="holds no shared graph"):
        load_graph(tmp_path / "nothing")


def _sparse_words(graph):
    """The graph with sparse bag-of-words features (500 words, 12 a node: 8 from its class's
    40 words, 4 from 380 shared ones), wide and sparse enough that the mini-batch products go
    through X W ("project" mode) and the batches but the last defer W's gradient."""
    gen = np.random.default_rng(0)
    n, k = graph.n_nodes, graph.n_classes
    own = graph.labels[:, None] * 40 + gen.integers(0, 40, (n, 8))
    shared = k * 40 + gen.integers(0, 380, (n, 4))
    cols = np.concatenate([own, shared], 1)
    x = sp.csr_matrix((np.ones(cols.size, np.float32), (np.repeat(np.arange(n), 12),
                       cols.ravel())), shape=(n, k * 40 + 380))
    x.data[:] = 1.0
    return dataclasses.replace(graph, features=x)


@pytest.mark.parametrize("features", ["dense", "sparse"])
def test_two_ranks_on_torch_distributed_match_one(graph, tmp_path, features):
    """2 processes (gloo) through torchrun: the sharded EM statistics equal one process's,
    both ranks end with the same labels, and the 2-rank fit (global batches of 2 x 32)
    reaches the quality of a 1-rank fit with batches of 64 on the same graph: with 20 dense
    features (products by rows of S X) and with 500 sparse ones (through X W, whose gradient
    the epoch's batches hand to the last one, all-reduced there)."""
    if features == "sparse":
        graph = _sparse_words(graph)
    save_graph(graph, tmp_path / "graph")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           str(ROOT / "tests" / "_ddp_worker.py"), str(tmp_path / "graph"), str(tmp_path), "32"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["em_diff"] < 1e-10, result
    assert result["ranks_agree"] and result["adjacency_mapped"], result
    assert result["modes"] == ["rows" if features == "dense" else "project"], result
    one = GMIM(n_clusters=3, hidden=32, pretrain_epochs=60, patience=10, n_epochs=20, n_init=3,
               batch_size=64, random_state=0, device="cpu").fit(graph)
    acc_one = evaluate(graph.labels, one.labels_)["acc"]
    assert result["acc"] > 0.85 and abs(result["acc"] - acc_one) < 0.05, (result, acc_one)
