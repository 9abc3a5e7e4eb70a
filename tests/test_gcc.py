"""GCC's pieces on hand-made inputs, its schedule, and its bad-input messages."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphclust import GCC, Graph, SimCLR
from graphclust.diffusion import gcn_norm
from graphclust.methods.gcc import join_input_edges, neighbor_lists, propagated_features
from graphclust.neighbors import knn_graph

SMALL = GCC.get_test_params()


def _toy_images(n=90, seed=0):
    """Three classes of 8x8 images: a bright band at rows 0-2, 3-5 or 5-7, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    img = np.zeros((n, 1, 8, 8), np.float32)
    for i, c in enumerate(y):
        img[i, 0, [0, 3, 5][c]:[0, 3, 5][c] + 3] = 1.0
    img = np.clip(img + 0.2 * rng.random(img.shape), 0, 1).astype(np.float32)
    flat = img.reshape(n, -1)
    return Graph(flat, knn_graph(flat, 5), y, "toy-images", meta={"image_shape": (1, 8, 8)})


def test_neighbor_lists_on_a_line():
    # points at angles 0, 1, 3, 10 degrees on the unit circle: cosine order = angle order
    ang = np.deg2rad([0.0, 1.0, 3.0, 10.0])
    z = torch.tensor(np.stack([np.cos(ang), np.sin(ang)], 1), dtype=torch.float32)
    lists, degrees = neighbor_lists(z, 1)
    assert lists.tolist() == [[0, 1], [1, 0], [2, 1], [3, 2]]  # self first, then the nearest
    # symmetrised: 0-1, 1-2, 2-3 -> list sizes with self 2, 3, 3, 2
    assert degrees.tolist() == [2.0, 3.0, 3.0, 2.0]


def test_join_input_edges_by_hand():
    lists = torch.tensor([[0, 1], [1, 0], [2, 1], [3, 2]])      # k = 1: 0-1, 1-0, 2-1, 3-2
    indptr, indices, degrees = join_input_edges(lists, None)
    assert indptr.tolist() == [0, 2, 4, 6, 8] and indices.tolist() == lists.ravel().tolist()
    torch.testing.assert_close(degrees, neighbor_lists(torch.tensor(
        np.stack([np.cos(np.deg2rad([0.0, 1, 3, 10])), np.sin(np.deg2rad([0.0, 1, 3, 10]))],
                 1), dtype=torch.float32), 1)[1])
    # input edges 0-3 (new) and 2-3 (already a k-NN pair for 3), and a self loop (ignored)
    adj = sp.csr_matrix((np.ones(5), ([0, 3, 2, 3, 1], [3, 0, 3, 2, 1])), shape=(4, 4))
    indptr, indices, degrees = join_input_edges(lists, adj)
    rows = [indices[indptr[i]:indptr[i + 1]].tolist() for i in range(4)]
    assert rows == [[0, 1, 3], [1, 0], [2, 1, 3], [3, 2, 0]]
    # symmetrised union: 0-{1,3}, 1-{0,2}, 2-{1,3}, 3-{0,2}, plus self
    assert degrees.tolist() == [3.0, 3.0, 3.0, 3.0]


def test_propagated_features_copy_zero_is_the_clean_propagation():
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32))
    x = np.eye(3, dtype=np.float32)
    out = propagated_features(x, a, 2, 0.5, 3, np.random.default_rng(0))
    norm = gcn_norm(a).toarray()
    np.testing.assert_allclose(out[0], np.concatenate([x, norm @ x, norm @ norm @ x], 1),
                               rtol=1e-6)
    assert out.shape == (3, 3, 9)
    same = propagated_features(x, a, 1, 0.0, 2, np.random.default_rng(0))
    np.testing.assert_allclose(same[0], same[1])  # no edge dropped: copies agree


@pytest.mark.filterwarnings("ignore:GCC. only")  # 4-epoch fits: collapse is not tested
def test_gcc_rebuilds_the_graph_on_its_schedule_and_labels_from_its_head():
    g = _toy_images()
    m = GCC(3, random_state=0, **{**SMALL, "n_epochs": 7, "warmup_epochs": 2,
                                  "graph_every": 2}).fit(g)
    assert m.backbone_ == "cnn" and len(m.graph_seconds_) == 3  # epochs 2, 4, 6
    assert m.neighbor_lists_.shape == (90, 6) and (m.neighbor_lists_[:, 0] == np.arange(90)).all()
    np.testing.assert_array_equal(m.labels_, m.responsibilities_.argmax(1))
    assert set(m.history_) >= {"gcc/rgc", "gcc/agc", "gcc/cr", "gcc/instance"}
    again = GCC(3, random_state=0, **{**SMALL, "n_epochs": 7, "warmup_epochs": 2,
                                      "graph_every": 2}).fit(g)
    np.testing.assert_array_equal(m.labels_, again.labels_)


@pytest.mark.filterwarnings("ignore:GCC. only")
def test_several_heads_keep_the_lowest_loss_one():
    g = _toy_images()
    kw = {**SMALL, "n_epochs": 5, "warmup_epochs": 2, "graph_every": 2}
    m = GCC(3, random_state=0, n_heads=4, **kw).fit(g)
    assert m.head_losses_.shape == (4,) and m.head_ == int(np.argmin(m.head_losses_))
    assert len(set(np.round(m.head_losses_, 6))) > 1  # the heads differ
    assert m.model_["cluster"].out_features == 12 and m.responsibilities_.shape == (90, 3)
    # the kept head's assignments of the clean inputs are the labels
    m.model_.eval()
    with torch.no_grad():
        x = torch.as_tensor(g.dense_features().reshape(-1, *g.meta["image_shape"]))
        logits = m.model_["cluster"](m.model_["backbone"](x)).view(90, 4, 3)[:, m.head_]
    np.testing.assert_array_equal(m.labels_, logits.argmax(1).numpy())
    one = GCC(3, random_state=0, **kw).fit(g)
    assert one.head_ == 0 and one.head_losses_.shape == (1,)
    with pytest.raises(ValueError, match="n_heads must be"):
        GCC(3, n_heads=0).fit(g)


@pytest.mark.filterwarnings("ignore:GCC. only")
def test_image_size_resizes_before_the_backbone():
    g = _toy_images()
    m = GCC(3, random_state=0, image_size=4, **SMALL)
    seen: set[tuple[int, ...]] = set()
    hooks: list = []

    def watch(phase, epoch, n_epochs, losses):  # from epoch 1 on, and the final encoding
        if not hooks:
            hooks.append(m.model_["backbone"].register_forward_pre_hook(
                lambda mod, args: seen.add(tuple(args[0].shape[1:]))))

    m.epoch_callback = watch
    m.fit(g)
    assert seen == {(1, 4, 4)} and m.embedding_.shape == (90, SMALL["channels"][-1])
    with pytest.raises(ValueError, match="image_size must be an integer >= 4"):
        GCC(3, image_size=2).fit(g)


@pytest.mark.filterwarnings("ignore:GCC. only")
def test_min_steps_lengthens_a_fit_on_small_data_in_proportion():
    g = _toy_images()                     # 90 samples, batches of 64: 2 a epoch
    m = GCC(3, random_state=0, **{**SMALL, "n_epochs": 4, "warmup_epochs": 1,
                                  "min_steps": 16}).fit(g)
    assert (m.n_epochs_, m.warmup_epochs_) == (8, 2)
    assert len(m.history_["gcc/instance"]) == 2 and len(m.history_["gcc/rgc"]) == 6
    assert SimCLR(3, random_state=0, **{**SMALL, "min_steps": 4}).fit(g).n_epochs_ == 4


@pytest.mark.filterwarnings("ignore:GCC. only")
def test_join_edges_draws_from_the_union_and_needs_edges():
    g = _toy_images()
    m = GCC(3, random_state=0, join_edges=True, **SMALL).fit(g)
    assert m.labels_.shape == (90,)
    bare = Graph(g.features, sp.csr_matrix((90, 90)), g.labels, "bare",
                 meta={"image_shape": (1, 8, 8)})
    with pytest.raises(ValueError, match="join_edges=True joins the input edges.*has none"):
        GCC(3, join_edges=True).fit(bare)
    with pytest.raises(ValueError, match="join_edges must be True or False"):
        GCC(3, join_edges="yes").fit(g)


@pytest.mark.filterwarnings("ignore:GCC. only")
def test_a_last_batch_of_one_sample_is_skipped():
    g = _toy_images(65)                    # batches of 64: the last holds one sample
    plain = Graph(g.features, g.adjacency, g.labels, "vectors")
    assert GCC(3, random_state=0, **SMALL).fit(plain).labels_.shape == (65,)


def test_simclr_baseline_never_builds_the_graph_and_clusters_separable_images():
    g = _toy_images()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SimCLR(3, random_state=0, **{**SMALL, "n_epochs": 15}).fit(g)
    from graphclust import evaluate

    assert m.graph_seconds_ == [] and not hasattr(m, "responsibilities_")
    assert evaluate(g.labels, m.labels_)["acc"] > 0.9


@pytest.mark.filterwarnings("ignore:GCC. only")  # 4-epoch fits: collapse is not tested
def test_vector_inputs_take_the_mlp_and_propagate_over_edges():
    g = _toy_images()
    plain = Graph(g.features, g.adjacency, g.labels, "vectors")
    m = GCC(3, random_state=0, **SMALL).fit(plain)
    assert m.backbone_ == "mlp" and m.embedding_.shape == (90, 32)
    assert m.model_["backbone"].net[0].in_features == 64 * 3  # [X, AX, A^2 X]
    none = Graph(g.features, sp.csr_matrix((90, 90)), g.labels, "no-edges")
    assert GCC(3, random_state=0, **SMALL).fit(none).model_["backbone"].net[0].in_features == 64


def test_bad_settings_say_what_to_change():
    g = _toy_images()
    plain = Graph(g.features, g.adjacency, g.labels, "vectors")
    with pytest.raises(ValueError, match="backbone='cnn' needs images"):
        GCC(3, backbone="cnn").fit(plain)
    with pytest.raises(ValueError, match=r"warmup_epochs \(5\) must be below n_epochs \(5\)"):
        GCC(3, n_epochs=5, warmup_epochs=5).fit(g)
    with pytest.raises(ValueError, match="feature_mask is a probability in"):
        GCC(3, feature_mask=1.5).fit(g)
    with pytest.raises(ValueError, match=r"crop_area must be \(low, high\) with 0 < low <= high <= 1"):
        GCC(3, crop_area=(0.5, 1.2)).fit(g)
    with pytest.raises(ValueError, match=r"crop_aspect must be \(low, high\)"):
        GCC(3, crop_aspect=(1.3, 0.7)).fit(g)
    wrong = Graph(g.features, g.adjacency, g.labels, "w", meta={"image_shape": (1, 4, 4)})
    with pytest.raises(ValueError, match=r"meta\['image_shape'\] \(1, 4, 4\) holds 16 values"):
        GCC(3).fit(wrong)
    with pytest.raises(ValueError, match="n_neighbors must be below the number of samples"):
        GCC(3, n_neighbors=90).fit(g)
