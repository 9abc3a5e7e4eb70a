"""The estimator contract, run for every entry of the method registry: a new method
inherits these checks by being registered (its ``get_test_params`` keeps them fast)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from graphclust import Graph, make_csbm
from graphclust.base import BaseGraphClusterer
from graphclust.methods import METHODS


@pytest.fixture(scope="module")
def graph():
    return make_csbm(n_nodes=150, n_classes=3, avg_degree=6, homophily=0.9, n_features=12,
                     feature_signal=1.0, random_state=0)


def _make(name, **extra):
    cls = METHODS[name]
    return cls(n_clusters=3, random_state=0, device="cpu", **{**cls.get_test_params(), **extra})


@pytest.fixture(scope="module")
def fitted(graph):
    """One fit per method at seed 0, shared by the checks that only read it."""
    import warnings

    with warnings.catch_warnings():  # tiny budgets: ConvergenceWarnings are expected
        warnings.simplefilter("ignore")
        return {name: _make(name).fit(graph) for name in METHODS}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_init_stores_parameters_and_clone_round_trips(name):
    model = _make(name)
    params = model.get_params()
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    # set_params round trip: every parameter can be set back to its own value
    assert model.set_params(**params) is model
    assert model.get_params() == params
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(no_such_parameter=1)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_not_fitted_before_fit(name, graph):
    model = _make(name)
    with pytest.raises(NotFittedError, match="is not fitted yet; call fit"):
        model.predict()
    assert not hasattr(model, "labels_")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_fit_returns_self_and_sets_learned_state(name, graph, fitted):
    model = fitted[name]
    assert isinstance(model, METHODS[name])
    assert model.labels_.shape == (graph.n_nodes,) and model.labels_.dtype == np.int64
    assert set(np.unique(model.labels_)) <= set(range(3))
    assert model.n_features_in_ == graph.n_features and model.fit_seconds_ > 0
    # every training phase is timed, and the timed steps lie within the fit
    assert set(getattr(model, "n_iter_per_phase_", {})) <= set(model.phase_seconds_)
    assert all(v >= 0 for v in model.phase_seconds_.values())
    assert sum(model.phase_seconds_.values()) <= model.fit_seconds_ + 1e-6
    np.testing.assert_array_equal(model.predict(), model.labels_)
    # learned state ends in "_"; __init__ stored only the parameters
    assert set(vars(_make(name))) == set(model.get_params())
    assert all(k.endswith("_") for k in set(vars(model)) - set(vars(_make(name))))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_fit_predict_equals_fit_labels_and_seed_repeats(name, graph, fitted):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = _make(name).fit_predict(graph)
    np.testing.assert_array_equal(labels, fitted[name].labels_)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_labels_never_steer_training(name, graph, fitted):
    # the same graph without labels, and with its labels permuted: identical labels_
    import warnings

    rng = np.random.default_rng(0)
    for labels in (None, rng.permutation(graph.labels)):
        other = Graph(graph.features, graph.adjacency, labels, graph.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = _make(name).fit(other).labels_
        np.testing.assert_array_equal(got, fitted[name].labels_)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_another_graph_is_computed_on_or_refused(name, graph, fitted):
    # node order permuted: a method that computes on another graph must give the permuted
    # result (equivariance); returning the training graph's values would fail here. The
    # tolerance allows for approximations recomputed on the new graph (GMIM's low-rank PPR
    # residual comes from a randomized SVD: ~3e-3 here), far below the rows' differences.
    model = fitted[name]
    perm = np.random.default_rng(1).permutation(graph.n_nodes)
    other = Graph(graph.features[perm], graph.adjacency[perm][:, perm], None, "permuted")
    for attr in ("transform", "predict_proba"):
        if not hasattr(model, attr):
            continue
        want = getattr(model, attr)()
        got = getattr(model, attr)(other)
        np.testing.assert_allclose(got, want[perm], rtol=0.05, atol=0.02)
        # and far nearer the permuted values than the training graph's own order
        assert np.abs(got - want[perm]).max() < 0.2 * np.abs(got - want).max(), attr
    narrow = Graph(graph.features[:, :5], graph.adjacency, None, "narrow")
    for attr in ("transform", "predict_proba", "predict"):
        if hasattr(model, attr):
            with pytest.raises(ValueError, match=f"fitted on {graph.n_features} features but "
                               "this graph has 5|is transductive: it labels the nodes of the "
                               "graph it was fitted on and cannot label another graph"):
                getattr(model, attr)(narrow)
    if type(model).predict is BaseGraphClusterer.predict:  # refuses, never relabels silently
        with pytest.raises(ValueError, match="is transductive"):
            model.predict(other)
    else:
        labels = model.predict(other)
        assert labels.shape == (graph.n_nodes,)


def test_every_method_declares_small_test_params():
    for name, cls in METHODS.items():
        valid = set(cls().get_params())
        assert set(cls.get_test_params()) <= valid, name
