import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust import AGCN, Graph, evaluate, load_dataset, make_csbm
from graphclust.diffusion import row_norm
from graphclust.methods.agcn import AGCNNetwork, concat_linear, dec_stop_epoch, softmax_l2
from graphclust.nn.autoencoder import Autoencoder
from graphclust.nn.dec import kl_clustering_loss, student_t_assignment, target_distribution
from graphclust.nn.sparse import FixedMatrix, bf16_autocast


def test_student_t_by_hand():
    z = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    mu = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    q = student_t_assignment(z, mu, nu=1.0)
    # node 0: distances^2 (0, 9) -> kernels (1, 1/10); node 1: (25, 16) -> (1/26, 1/17)
    expected = torch.tensor([[1.0, 0.1], [1 / 26, 1 / 17]])
    torch.testing.assert_close(q, expected / expected.sum(1, keepdim=True))
    with pytest.raises(ValueError, match="nu .* must be > 0"):
        student_t_assignment(z, mu, nu=0.0)


def test_target_distribution_by_hand_and_sharper():
    q = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    f = q.sum(0)  # (0.8, 1.2)
    w = q**2 / f
    torch.testing.assert_close(target_distribution(q), w / w.sum(1, keepdim=True))
    p = target_distribution(q)
    assert p[0, 0] > q[0, 0] and p[1, 1] > q[1, 1]  # sharpened towards the confident class


def test_kl_loss_zero_on_equal_and_batchmean():
    p = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    assert float(kl_clustering_loss(p, p.log())) == pytest.approx(0.0, abs=1e-7)
    q = torch.full((2, 2), 0.5)
    expected = (0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)) / 2
    assert float(kl_clustering_loss(p, q.log())) == pytest.approx(expected, rel=1e-5)


def test_kl_of_a_softmax_head_is_exact_where_the_softmax_underflows():
    # Z = softmax([0, -200]) underflows to (1, 0) in float32; KL(P || Z) with P = (0.5, 0.5)
    # is 0.5 log 0.5 + 0.5 log 0.5 - 0.5 log z_1 - 0.5 log z_2 = -log 2 + 100 (log z_2 =
    # -200 - log(1 + e^-200)); a log of the softmax clamped at 1e-12 gave -log 2 + 13.8
    logits = torch.tensor([[0.0, -200.0]])
    p = torch.tensor([[0.5, 0.5]])
    expected = -np.log(2.0) + 100.0
    assert float(kl_clustering_loss(p, torch.log_softmax(logits, 1))) == pytest.approx(expected, rel=1e-6)


def test_row_norm_rows_sum_to_one():
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32))
    s = row_norm(a).toarray()
    np.testing.assert_allclose(s.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(s[1], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)


def test_autoencoder_widths_sparse_input_and_pretraining():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 20, generator=gen) < 0.2).float()
    torch.manual_seed(0)
    ae = Autoencoder(20, [16, 8, 4])
    x_hat, hs = ae(x)
    assert x_hat.shape == (64, 20) and [h.shape[1] for h in hs] == [16, 8, 4]
    # sparse input through FixedMatrix gives the same encoding
    xs = FixedMatrix(x.to_sparse_csr())
    torch.testing.assert_close(ae.encode(xs)[-1], hs[-1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="widths must be"):
        Autoencoder(20, [16, 0])


@pytest.fixture(scope="module")
def graph():
    return make_csbm(n_nodes=240, n_classes=3, avg_degree=6, homophily=0.9, n_features=40,
                     feature_signal=1.5, random_state=0)


SMALL = dict(widths=(32, 32, 64, 8), pretrain_epochs=20, n_epochs=40, batch_size=64)


def test_agcn_clusters_planted_partition_and_is_repeatable(graph):
    m1 = AGCN(3, random_state=1, keep_label_history=True, **SMALL).fit(graph)
    m2 = AGCN(3, random_state=1, **SMALL).fit(graph)
    np.testing.assert_array_equal(m1.labels_, m2.labels_)
    assert evaluate(graph.labels, m1.labels_)["acc"] > 0.8
    assert m1.label_history_.shape == (SMALL["n_epochs"] + 1, graph.n_nodes)
    np.testing.assert_array_equal(m1.label_history_[-1], m1.labels_)
    assert m1.q_label_history_.shape == m1.label_history_.shape
    np.testing.assert_array_equal(m1.q_label_history_[-1], m1.q_.argmax(1))
    np.testing.assert_allclose(m1.predict_proba().sum(1), 1.0, rtol=1e-5)
    assert m1.embedding_.shape == (graph.n_nodes, 8)
    assert set(m1.history_) >= {"pretrain/recon", "joint/recon", "joint/kl_q", "joint/kl_z"}


def test_agcn_start_state_does_not_depend_on_n_epochs(graph):
    # benchmarks/agcn_start.py recovers a full run's starting point with n_epochs=0
    full = AGCN(3, random_state=2, **SMALL).fit(graph)
    start = AGCN(3, random_state=2, **{**SMALL, "n_epochs": 0}).fit(graph)
    np.testing.assert_array_equal(full.pretrain_labels_, start.pretrain_labels_)
    assert full.pretrain_labels_.shape == (graph.n_nodes,)


@pytest.mark.parametrize("kwargs", [dict(fusion_h=False), dict(scale_fusion="equal"),
                                    dict(adj_norm="row")])
def test_agcn_ablation_switches_run(graph, kwargs):
    m = AGCN(3, random_state=0, **{**SMALL, "n_epochs": 5}, **kwargs).fit(graph)
    assert m.labels_.shape == (graph.n_nodes,)


def _literal_forward(net, x, a):
    """AGCN's forward as the paper writes it (eq. 2-8), concatenations and all, dense."""
    lrelu = torch.nn.functional.leaky_relu
    x_hat, hs = net.ae(x)
    z = lrelu(a @ x @ net.gcn[0].weight, 0.2)
    zs = [z]
    for i in range(1, len(net.gcn)):
        h = hs[i - 1]
        if net.fusion_h:
            m = softmax_l2(net.fuse[i - 1](torch.cat([z, h], 1)), net.slope)
            mixed = m[:, :1] * z + m[:, 1:] * h
        else:
            mixed = 0.5 * z + 0.5 * h
        z = lrelu(a @ mixed @ net.gcn[i].weight, 0.2)
        zs.append(z)
    feats = [*zs, hs[-1]]
    if net.scale_fusion == "attention":
        u = softmax_l2(net.scale(torch.cat(feats, 1)), net.slope)
        feats = [u[:, j:j + 1] * f for j, f in enumerate(feats)]
    return x_hat, hs, a @ torch.cat(feats, 1) @ net.predict


@pytest.mark.parametrize("fusion_h,scale_fusion", [(True, "attention"), (True, "equal"),
                                                   (False, "attention")])
def test_agcn_forward_equals_the_papers_concatenations(fusion_h, scale_fusion):
    # the network never forms [Z || H] nor the fused concatenation, and runs each GCN layer's
    # sparse product on the narrower side (4 -> 8 widens): same values as the literal eq. 2-8
    torch.manual_seed(0)
    net = AGCNNetwork(6, [4, 8, 3], 2, fusion_h=fusion_h, scale_fusion=scale_fusion,
                      attention_slope=0.2)
    torch.nn.init.normal_(net.predict)
    x = torch.rand(7, 6)
    adj = sp.random(7, 7, density=0.4, random_state=0, format="csr")
    a = torch.as_tensor((adj + adj.T + sp.eye(7)).toarray(), dtype=torch.float32)
    got = net(FixedMatrix(x.to_sparse_csr()), FixedMatrix(a.to_sparse_csr()))
    want = _literal_forward(net, x, a)
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[2], want[2], rtol=1e-5, atol=1e-5)
    assert concat_linear(net.scale, [torch.ones(7, 4), torch.ones(7, 8), torch.ones(7, 3),
                                     torch.ones(7, 3)]).shape == (7, 4)


def test_sparse_fixed_matrix_under_bf16_autocast_stays_float32():
    # torch has no bfloat16 CSR product: FixedMatrix runs it in float32, gradients included
    gen = torch.Generator().manual_seed(0)
    s = FixedMatrix((torch.rand(6, 6, generator=gen) < 0.4).float().to_sparse_csr())
    w = torch.randn(4, 3, generator=gen, requires_grad=True)
    b = torch.randn(6, 4, generator=gen)
    with bf16_autocast(torch.device("cpu"), True):
        h = b @ w
        out = s @ h
    assert h.dtype == torch.bfloat16 and out.dtype == torch.float32
    out.sum().backward()
    assert w.grad is not None and w.grad.dtype == torch.float32
    torch.testing.assert_close(out, s.s.to_dense() @ (b @ w).detach(), rtol=2e-2, atol=2e-2)


def test_agcn_mixed_precision_clusters_and_is_repeatable(graph):
    m1 = AGCN(3, random_state=1, mixed_precision=True, **SMALL).fit(graph)
    m2 = AGCN(3, random_state=1, mixed_precision=True, **SMALL).fit(graph)
    np.testing.assert_array_equal(m1.labels_, m2.labels_)
    assert evaluate(graph.labels, m1.labels_)["acc"] > 0.8
    assert m1.embedding_.dtype == np.float32 and m1.soft_assignment_.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mixed_precision="yes"), "mixed_precision must be True or False"),
        (dict(widths=(10,)), "widths must list at least two"),
        (dict(widths=(10, 0)), "widths must list at least two"),
        (dict(scale_fusion="max"), "scale_fusion must be"),
        (dict(adj_norm="col"), "adj_norm must be"),
        (dict(lambda_q=-1.0), "lambda_q must be a finite number >= 0"),
        (dict(lr=0.0), "lr must be a finite number > 0"),
        (dict(n_epochs=-1), "n_epochs must be an integer >= 0"),
    ],
)
def test_agcn_bad_parameters(graph, kwargs, match):
    with pytest.raises(ValueError, match=match):
        AGCN(3, **kwargs).fit(graph)


@pytest.mark.parametrize("name, d, c", [("hhar", 561, 6), ("reut", 2000, 4)])
def test_sdcn_text_loaders_on_generated_files(tmp_path, name, d, c):
    # HHAR / Reuters features are not in the shared data: same feature width and class
    # count, fewer rows, written in SDCN's text layout
    rng = np.random.default_rng(0)
    n, k = 60, 3
    folder = tmp_path / "sdcn" / name
    folder.mkdir(parents=True)
    np.savetxt(folder / f"{name}.txt", rng.random((n, d)), fmt="%.4f")
    np.savetxt(folder / f"{name}_label.txt", rng.integers(0, c, n), fmt="%d")
    edges = [(i, (i + j) % n) for i in range(n) for j in range(1, k + 1)]
    np.savetxt(folder / f"{name}{k}_graph.txt", np.array(edges), fmt="%d")
    g = load_dataset(name, root=tmp_path, download=False, k=k)
    assert (g.n_nodes, g.n_features) == (n, d)
    assert g.adjacency.nnz == 2 * n * k  # symmetrised ring of width k
    g2 = load_dataset(name, root=tmp_path, download=False, k=5, rebuild_knn=True)
    assert g2.n_nodes == n and g2.adjacency.nnz >= n * 5
    np.savetxt(folder / f"{name}_label.txt", rng.integers(0, c, n - 1), fmt="%d")
    with pytest.raises(ValueError, match="labels but .* feature rows"):
        load_dataset(name, root=tmp_path, download=False, k=k)


def test_unverified_table_configs_run_on_generated_files(tmp_path):
    # the HHAR / Reuters rows of tables.toml build a valid AGCN on data of their shape
    from graphclust.bench import load_tables

    rows = load_tables()["agcn-table3-unverified"]["rows"]
    assert [r["dataset"] for r in rows] == ["hhar", "reut"]
    rng = np.random.default_rng(1)
    n = 40
    for row in rows:
        name, k = row["dataset"], row["dataset_kwargs"]["k"]
        d = {"hhar": 561, "reut": 2000}[name]
        folder = tmp_path / "sdcn" / name
        folder.mkdir(parents=True)
        np.savetxt(folder / f"{name}.txt", rng.random((n, d)), fmt="%.3f")
        np.savetxt(folder / f"{name}_label.txt", np.arange(n) % 3, fmt="%d")
        edges = [(i, (i + j) % n) for i in range(n) for j in range(1, k + 1)]
        np.savetxt(folder / f"{name}{k}_graph.txt", np.array(edges), fmt="%d")
        g = load_dataset(name, root=tmp_path, download=False, k=k)
        model = AGCN(3, **row["params"], widths=(8, 8, 16, 4), pretrain_epochs=1,
                     n_epochs=2, n_init=1, random_state=0).fit(g)
        assert model.labels_.shape == (n,)


def test_stop_tol_ends_a_converged_joint_phase_without_reading_labels(graph):
    kw = {**SMALL, "n_epochs": 200}
    m = AGCN(3, random_state=1, stop_tol=0.005, keep_label_history=True, **kw).fit(graph)
    assert m.converged_ and m.n_iter_per_phase_["joint"] < 200
    # the rule fired on the last two labelings: fewer than 0.5% of 240 nodes (i.e. none) moved
    hist = m.label_history_  # before each epoch's update, then the final labels
    assert hist.shape == (m.n_iter_ + 1, 240) and (hist[-2] == hist[-3]).all()
    # the first epochs' labels moved more than that (the rule did not fire there)
    assert (hist[0] != hist[1]).mean() >= 0.005 or m.n_iter_ == 2
    # it never reads labels: the same fit on the graph without them is identical
    blind = AGCN(3, random_state=1, stop_tol=0.005, **kw).fit(
        Graph(graph.features, graph.adjacency))
    np.testing.assert_array_equal(blind.labels_, m.labels_)
    assert blind.n_iter_ == m.n_iter_
    off = AGCN(3, random_state=1, **{**SMALL, "n_epochs": 12}).fit(graph)
    assert off.n_iter_ == 12 and off.converged_
    with pytest.raises(ValueError, match=r"stop_tol is a fraction of the nodes in \[0, 1\)"):
        AGCN(3, stop_tol=1.5).fit(graph)



def test_dec_stop_epoch_by_hand_and_it_replays_a_stopped_fit(graph):
    h = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]])
    # changes between consecutive rows: 1/4, 1/4, 0, 1/4
    assert dec_stop_epoch(h, tol=0.1) == 3 and dec_stop_epoch(h, tol=0.3) == 1
    assert dec_stop_epoch(h, tol=0.1, every=2) is None  # 2-apart rows: 2/4, 1/4, 1/4
    assert dec_stop_epoch(h, tol=0.3, every=2) == 3
    # one history replays the rule: the stopped fit ends with row e + 1 of the full run's
    kw = {**SMALL, "n_epochs": 60}
    full = AGCN(3, random_state=2, keep_label_history=True, **kw).fit(graph)
    e = dec_stop_epoch(full.label_history_[:-1], 0.005)
    assert e is not None
    stopped = AGCN(3, random_state=2, stop_tol=0.005, **kw).fit(graph)
    assert stopped.n_iter_ == e + 1
    np.testing.assert_array_equal(stopped.labels_, full.label_history_[e + 1])
