"""GCC's losses against values worked out by hand."""

import math

import pytest
import torch

from graphclust.nn.graph_contrastive import agc_loss, cluster_regularizer, rgc_loss


def test_rgc_hand_value():
    # two anchors, three candidates; s = anchors . candidates, tau = 1
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    candidates = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    weights = torch.tensor([[1.0, 0.0, 0.5],    # anchor 0: positives 0 (w 1) and 2 (w .5)
                            [0.0, 1.0, 0.0]])   # anchor 1: positive 1
    # anchor 0: s = (1, 0, .6): log((e + .5 e^.6) / e^0); anchor 1: s = (0, 1, .8):
    # log(e / (e^0 + e^.8))
    l0 = -math.log((math.e + 0.5 * math.exp(0.6)) / 1.0)
    l1 = -math.log(math.e / (1.0 + math.exp(0.8)))
    assert rgc_loss(anchors, candidates, weights, tau=1.0).item() == pytest.approx((l0 + l1) / 2)
    # tau scales the similarities
    l1_half = -math.log(math.exp(2) / (1 + math.exp(1.6)))
    l0_half = -math.log(math.exp(2) + 0.5 * math.exp(1.2))
    assert rgc_loss(anchors, candidates, weights, tau=0.5).item() == pytest.approx(
        (l0_half + l1_half) / 2)


def test_rgc_warm_up_form_is_a_softmax_over_every_candidate():
    # [G]'s warm-up: anchors (view 1) against [view 1; view 2], the positive in the
    # denominator, the anchor's own similarity (1 / tau) among the negatives
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    cands = torch.cat([z1, z2])
    weights = torch.cat([torch.zeros(2, 2), torch.eye(2)], 1)
    # anchor 0: s = (1, 0, .8, .6), positive .8; anchor 1: s = (0, 1, .6, .8), positive .8
    den = math.log(math.e + 1 + math.exp(0.8) + math.exp(0.6))
    expected = den - 0.8
    got = rgc_loss(z1, cands, weights, tau=1.0, positives_in_denominator=True)
    assert got.item() == pytest.approx(expected)
    # the default leaves the positive out: log(e + 1 + e^.6) - .8
    assert rgc_loss(z1, cands, weights, tau=1.0).item() == pytest.approx(
        math.log(math.e + 1 + math.exp(0.6)) - 0.8)
    # a softmax: never below 0
    assert got.item() > 0


def test_rgc_rejects_weights_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"weights must be \(anchors, candidates\) = \(2, 3\)"):
        rgc_loss(torch.ones(2, 4), torch.ones(3, 4), torch.ones(3, 2))


def test_agc_hand_value_and_typo_reading():
    # one-hot assignments, the neighbours agree: columns e_k against e_j, cosine = identity
    q = torch.eye(2)
    expected = math.log(1 + math.exp(-1.0))          # -log(e / (e + 1)), tau = 1
    assert agc_loss(q, q).item() == pytest.approx(expected)
    # the neighbours swap clusters: the target column is now the orthogonal one
    assert agc_loss(q, q.flip(0)).item() == pytest.approx(math.log(1 + math.e))
    # the cosine makes the loss blind to a column's scale
    assert agc_loss(q * 3, q).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="q and q_neighbor must have one shape"):
        agc_loss(torch.ones(3, 2), torch.ones(2, 2))


def test_cluster_regularizer_hand_values():
    assert cluster_regularizer(torch.full((4, 3), 1 / 3)).item() == pytest.approx(0.0, abs=1e-7)
    one = torch.tensor([[1.0, 0.0, 0.0]] * 5)
    assert cluster_regularizer(one).item() == pytest.approx(math.log(3))
    # Z = (3/4, 1/4): log 2 + 3/4 log 3/4 + 1/4 log 1/4
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    expected = math.log(2) + 0.75 * math.log(0.75) + 0.25 * math.log(0.25)
    assert cluster_regularizer(q).item() == pytest.approx(expected)
