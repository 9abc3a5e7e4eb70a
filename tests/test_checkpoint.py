"""A checkpointed fit that is interrupted resumes and ends with an uninterrupted run's labels."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from graphclust import DGI, GMIM, make_csbm
from graphclust.checkpoint import FILE
from graphclust.methods import METHODS

PARAMS = dict(hidden=16, pretrain_epochs=25, patience=5, n_epochs=12, grad_steps=2, n_init=2,
              random_state=3)


def graph():
    return make_csbm(n_nodes=150, n_classes=3, avg_degree=6, homophily=0.9, n_features=12,
                     feature_signal=0.5, random_state=0)


class Stop(Exception):
    pass


def stop_at(phase, epoch):
    def callback(p, e, n, losses):
        if p == phase and e == epoch:
            raise Stop
    return callback


@pytest.fixture(scope="module")
def uninterrupted():
    torch.set_num_threads(1)
    return GMIM(3, **PARAMS).fit(graph())


@pytest.mark.parametrize("phase,epoch", [("pretrain", 7), ("joint", 5)])
def test_interrupted_fit_resumes_to_the_same_labels(tmp_path, uninterrupted, phase, epoch):
    g = graph()
    m = GMIM(3, **PARAMS, checkpoint=str(tmp_path), checkpoint_every=0)
    m.epoch_callback = stop_at(phase, epoch)
    with pytest.raises(Stop):
        m.fit(g)
    assert (tmp_path / FILE).exists()
    resumed = GMIM(3, **PARAMS, checkpoint=str(tmp_path), checkpoint_every=0).fit(g)
    np.testing.assert_array_equal(resumed.labels_, uninterrupted.labels_)
    np.testing.assert_allclose(resumed.embedding_, uninterrupted.embedding_, rtol=0, atol=0)
    assert resumed.history_ == uninterrupted.history_
    assert resumed.n_iter_per_phase_ == uninterrupted.n_iter_per_phase_
    assert not (tmp_path / FILE).exists()  # removed once the fit has ended


def test_killed_process_resumes_to_the_same_labels(tmp_path, uninterrupted):
    # a real kill (SIGKILL) in the middle of the joint phase, in another process
    script = textwrap.dedent(f"""
        import time, torch
        from graphclust import GMIM, make_csbm
        torch.set_num_threads(1)
        g = make_csbm(n_nodes=150, n_classes=3, avg_degree=6, homophily=0.9, n_features=12,
                      feature_signal=0.5, random_state=0)
        m = GMIM(3, **{PARAMS!r}, checkpoint={str(tmp_path)!r}, checkpoint_every=0)
        def slow(phase, epoch, n, losses):
            if phase == "joint" and epoch >= 4:
                print("joint", epoch, flush=True)
                time.sleep(30)
        m.epoch_callback = slow
        m.fit(g)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # the joint phase is at epoch 4, checkpointed to 3
        assert line.startswith("joint 4"), line
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = torch.load(tmp_path / FILE, weights_only=False)
    assert saved["phases"]["pretrain"]["complete"] and not saved["phases"]["joint"]["complete"]
    resumed = GMIM(3, **PARAMS, checkpoint=str(tmp_path), checkpoint_every=0).fit(graph())
    np.testing.assert_array_equal(resumed.labels_, uninterrupted.labels_)
    assert resumed.history_ == uninterrupted.history_


def test_checkpoint_of_another_fit_or_unreadable_is_refused(tmp_path):
    g = graph()
    m = DGI(3, **{k: PARAMS[k] for k in ("hidden", "pretrain_epochs", "patience", "n_init")},
            checkpoint=str(tmp_path), checkpoint_every=0)
    m.epoch_callback = stop_at("pretrain", 4)
    with pytest.raises(Stop):
        m.fit(g)
    other = DGI(3, hidden=8, checkpoint=str(tmp_path))
    with pytest.raises(ValueError, match=r"belongs to another fit .* empty folder, or delete"):
        other.fit(g)
    (tmp_path / FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"cannot be read .* delete it to start afresh"):
        other.fit(g)


def test_methods_without_registered_state_refuse_a_checkpoint(tmp_path):
    unsupported = sorted(n for n, c in METHODS.items() if not c.supports_checkpoint)
    assert "gmim" not in unsupported and "dgi" not in unsupported and unsupported
    est = METHODS[unsupported[0]](3, checkpoint=str(tmp_path))
    with pytest.raises(ValueError, match="cannot resume from a checkpoint yet .* checkpoint=None"):
        est.fit(graph())
    with pytest.raises(ValueError, match="checkpoint must be a folder path or None but got 5"):
        GMIM(3, checkpoint=5).fit(graph())


def test_a_fit_that_would_not_fit_in_memory_stops_before_the_diffusion(monkeypatch):
    import graphclust.memory as memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 10**6)  # 1 MB left
    with pytest.raises(MemoryError, match=r"GMIM on 150 nodes \(hidden 512, ppr_k 64\) needs "
                       r"about 3\.\d MB \(activations 2\.8 MB, .* but 1\.0 MB are available; lower hidden"):
        GMIM(3).fit(graph())
    monkeypatch.setattr(memory, "available_bytes", lambda: None)  # unknown: not checked
    GMIM(3, **PARAMS).fit(graph())
