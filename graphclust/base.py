"""The estimator base class: fit skeleton, seeding, device choice, the training loop.

Modelled on scikit-learn's ``BaseMixture``: the base class owns what every method
repeats, a method fills in its steps.

* ``fit(graph)`` validates the input, forks the global RNG state (a fit leaves NumPy's and
  torch's global seeds as it found them), calls the method's ``_fit(graph, device, rng)``,
  and records ``n_iter_``, ``n_iter_per_phase_``, ``converged_``, ``fit_seconds_`` and
  ``phase_seconds_`` (seconds per named step).
* :meth:`BaseGraphClusterer._train` is the one optimisation loop: Adam (torch's fused
  kernel where the installed torch has it on that device), a method's ``step(epoch,
  batch)`` giving the loss and the terms to log, mini-batches from
  :func:`minibatches` or any iterable, an optional cosine learning-rate schedule, early
  stopping on the epoch loss with the best weights restored, the per-epoch ``history_`` and
  the ``epoch_callback`` the CLI draws progress bars with, and a ``ConvergenceWarning``
  when the epoch budget runs out before the stopping rule fired.

Library code logs (logger ``graphclust``); it never prints. ``verbose=True`` attaches a
stderr handler at INFO level for convenience.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sized
from collections.abc import Generator as _Gen
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, cast

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from torch import nn

from graphclust.checkpoint import Checkpoint, capture, fingerprint, restore
from graphclust.graph import Graph

__all__ = ["BaseGraphClusterer", "PhaseResult", "make_adam", "minibatches", "resolve_device",
           "check_positive_int", "check_positive_float", "check_bool", "check_choice"]

log = logging.getLogger("graphclust")

EpochCallback = Callable[[str, int, int, dict[str, float]], None]
#: ``step(epoch, batch) -> (loss to minimise, {term name: value to log})``
StepFn = Callable[[int, Any], tuple[torch.Tensor, dict[str, Any]]]
#: ``step(epoch, batch, last)`` of a phase with one Adam step an epoch (``accumulate``):
#: ``last`` is True for the epoch's last batch, whose backward completes the epoch's gradient
#: (under DistributedDataParallel, the one that all-reduces it)
EpochStepFn = Callable[[int, Any, bool], tuple[torch.Tensor, dict[str, Any]]]


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is checked and returned."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]' but got {device!r}.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but no CUDA device is available; "
                         "use 'auto' or 'cpu'.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r} was asked for but only "
                         f"{torch.cuda.device_count()} CUDA device(s) exist (cuda:0..).")
    return dev


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} but got {value!r}.")
    return int(value)


def check_positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} but got {value!r}.")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False but got {value!r}.")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))} but got {value!r}."
        )
    return value


def make_adam(parameters: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with torch's fused kernel where the installed torch has it for the parameters'
    device (CPU since torch 2.4, CUDA earlier), the plain kernel otherwise: same maths."""
    params = list(parameters)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


def minibatches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device,
    *, shuffle: bool = True,
) -> Iterator[torch.Tensor]:
    """Index tensors of consecutive slices of a random permutation of ``range(n)`` (the
    last one shorter), for :meth:`BaseGraphClusterer._train`'s ``batches``."""
    order = (torch.randperm(n, generator=generator) if shuffle else torch.arange(n)).to(device)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


@dataclass
class PhaseResult:
    """What one call of :meth:`BaseGraphClusterer._train` did."""

    epochs: int  # epochs run
    converged: bool  # the stopping rule fired (always True for a fixed budget)
    best_loss: float  # lowest epoch loss (the restored weights' when early stopping)
    last_loss: float


@dataclass(repr=False, eq=False)
class BaseGraphClusterer(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Common skeleton: ``fit(graph)`` -> ``labels_``; ``fit_predict(graph)``.

    Parameters are dataclass fields: each is declared once, with its type and default, in
    the class that introduces it, and a subclass inherits them (GMIM inherits DGI's and
    changes three defaults). The generated ``__init__`` only stores them, as scikit-learn
    requires: ``n_clusters`` positional, the rest keyword-only. Every estimator class is
    decorated ``@dataclass(repr=False, eq=False)`` to keep scikit-learn's repr and
    identity equality. Subclasses implement ``_check_params()`` and ``_fit(graph, device,
    rng)``. A fixed ``random_state`` repeats a run exactly on the same device and torch
    thread count (floating-point sums are ordered by the threads, so another count can
    drift over many epochs).

    Parameters
    ----------
    n_clusters : int
    random_state : int or None, default None
        Seeds every random draw of the fit; None draws a fresh seed.
    device : str, default "auto"
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:i".
    verbose : bool, default False
        Log progress (logger ``graphclust``) to stderr at INFO level.
    checkpoint : str or None, default None
        A folder: the fit saves its state there every ``checkpoint_every`` seconds and at
        the end of each training phase (:mod:`graphclust.checkpoint`), and a fit started
        with the same parameters on the same graph resumes from it (same labels as an
        uninterrupted run). The file is removed when the fit ends. Methods with
        ``supports_checkpoint`` only.
    checkpoint_every : float, default 300
        Seconds between checkpoints within a phase.
    """

    n_clusters: int = 8
    _: KW_ONLY
    random_state: int | None = None
    device: str = "auto"
    verbose: bool = False
    checkpoint: str | None = None
    checkpoint_every: float = 300.0

    #: optional hook ``callback(phase, epoch, n_epochs, losses)`` used by the CLI for
    #: progress bars; set it as an attribute, it is not an estimator parameter (not in
    #: ``__init__``, so ``get_params`` and ``clone`` leave it out)
    epoch_callback: EpochCallback | None = field(default=None, init=False, compare=False)
    #: whether the method reads the graph's edges (False for feature-only baselines)
    uses_graph: ClassVar[bool] = True
    #: whether the method registers all its training state with ``_train`` (``state=``), so
    #: that a checkpointed fit resumes exactly
    supports_checkpoint: ClassVar[bool] = False

    @classmethod
    def get_test_params(cls) -> dict[str, Any]:
        """Small settings under which a fit takes about a second on a few hundred nodes:
        the shared contract test fits every registered method with them."""
        return {}

    def _check_params(self, graph: Graph) -> None:
        check_positive_int("n_clusters", self.n_clusters)
        if self.n_clusters > graph.n_nodes:
            raise ValueError(
                f"Expected n_nodes >= n_clusters but got n_clusters = {self.n_clusters}, "
                f"n_nodes = {graph.n_nodes}."
            )
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            raise ValueError(f"random_state must be an int or None but got {self.random_state!r}.")
        if self.checkpoint is not None:
            if not isinstance(self.checkpoint, (str, os.PathLike)):
                raise ValueError(f"checkpoint must be a folder path or None but got "
                                 f"{self.checkpoint!r}.")
            if not self.supports_checkpoint:
                raise ValueError(f"{type(self).__name__} cannot resume from a checkpoint yet "
                                 "(its training state is not all registered); set "
                                 "checkpoint=None.")
            check_positive_float("checkpoint_every", self.checkpoint_every, allow_zero=True)

    def _fit(self, graph: Graph, device: torch.device, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def fit(self, graph: Graph, y: Any = None) -> BaseGraphClusterer:
        """Train on ``graph`` (labels, if any, are never used). Returns ``self``."""
        if not isinstance(graph, Graph):
            raise TypeError(
                f"Expected a graphclust.Graph but got {type(graph).__name__}; build one with "
                "Graph(features, adjacency) or, for plain features, "
                "Graph(X, graphclust.neighbors.knn_graph(X, k=10))."
            )
        self._check_params(graph)
        device = resolve_device(self.device)
        handler = None
        if self.verbose:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            log.addHandler(handler)
            previous_level = log.level
            log.setLevel(logging.INFO)
        self.history_: dict[str, list[float]] = {}
        self._phases: dict[str, PhaseResult] = {}
        self.phase_seconds_: dict[str, float] = {}
        start = time.perf_counter()
        self._ckpt: Checkpoint | None = None
        if self.checkpoint is not None:
            params = {k: v for k, v in self.get_params().items()
                      if k not in ("checkpoint", "checkpoint_every", "verbose")}
            self._ckpt = Checkpoint(self.checkpoint, self.checkpoint_every,
                                    fingerprint(type(self).__name__, params, graph))
        if self._ckpt is not None and self._ckpt.seed is not None:
            seed = self._ckpt.seed  # a resumed fit: the seed it started with
        else:
            seed = self.random_state if self.random_state is not None else int(
                np.random.SeedSequence().generate_state(1)[0]
            )
        if self._ckpt is not None:
            self._ckpt.set_seed(seed)
        try:
            devices = [device.index or 0] if device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                self._fit(graph, device, np.random.default_rng(seed))
        finally:
            ckpt = self.__dict__.pop("_ckpt", None)
            if handler is not None:
                log.removeHandler(handler)
                log.setLevel(previous_level)
        if ckpt is not None:
            ckpt.finish()
        self.fit_seconds_ = time.perf_counter() - start
        self.n_features_in_ = graph.n_features
        if self._phases:
            self.n_iter_per_phase_ = {k: r.epochs for k, r in self._phases.items()}
            self.n_iter_ = list(self._phases.values())[-1].epochs
            self.converged_ = all(r.converged for r in self._phases.values())
        del self._phases
        return self

    @contextmanager
    def _timed(self, phase: str) -> _Gen[None, None, None]:
        """Add the wall seconds of the ``with`` block to ``phase_seconds_[phase]`` (every
        :meth:`_train` phase is timed under its name; methods time their other steps, e.g.
        "diffusion", "cluster")."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.phase_seconds_[phase] = self.phase_seconds_.get(phase, 0.0) + (
                time.perf_counter() - t0)

    def _train(
        self,
        phase: str,
        module: nn.Module,
        step: StepFn | EpochStepFn,
        *,
        n_epochs: int,
        lr: float,
        batches: Callable[[int], Iterable[Any]] | None = None,
        patience: int | None = None,
        lr_schedule: Literal["constant", "cosine", "step"] = "constant",
        lr_step: int = 10,
        lr_gamma: float = 0.9,
        parameters: Iterable[nn.Parameter] | None = None,
        state: dict[str, Any] | None = None,
        stop: Callable[[int], bool] | None = None,
        reduce_loss: Callable[[float], float] | None = None,
        accumulate: bool = False,
    ) -> PhaseResult:
        """Minimise ``step``'s loss over ``module``'s parameters for up to ``n_epochs`` epochs.

        ``batches(epoch)`` gives the epoch's batches (default: one full batch, ``None``);
        each is passed to ``step(epoch, batch)``, which returns the loss (backpropagated,
        then one Adam step) and the terms to log. An epoch's logged terms are the mean over
        its batches, weighted by batch length where a batch has one. With ``patience``,
        training stops after ``patience`` epochs without a lower epoch loss and the best
        epoch's weights are restored; a run that ends on its budget instead warns
        (``ConvergenceWarning``). ``lr_schedule="cosine"`` anneals the learning rate from
        ``lr`` to 0 over ``n_epochs`` (per epoch); ``"step"`` multiplies it by ``lr_gamma``
        every ``lr_step`` epochs (VaDE's and DGG's 0.9 every 10). Its seconds add to
        ``phase_seconds_[phase]``. ``state``: what else the phase's steps read and change
        (their generators, a mixture's parameters, read back from the dict by the step),
        saved and restored with a checkpoint. ``stop(epoch)``, asked after each epoch, ends
        the phase (converged) when it returns True: a method's own label-free stopping rule.
        ``reduce_loss``: maps this process's epoch loss to the one the stopping rule reads
        (data-parallel training passes the mean over the ranks, so that every rank stops on
        the same epoch). ``accumulate``: one Adam step an epoch, on the gradient of the
        epoch's batches summed with weights len(batch) / (the epoch's total), i.e. the
        full-batch gradient of a mean loss computed batch by batch (memory of one batch;
        under DistributedDataParallel the gradients are all-reduced once, at the last batch);
        the step is then called as ``step(epoch, batch, last)`` (:data:`EpochStepFn`), so
        that a batch may leave part of its gradient to the epoch's last one.
        """
        if state is None:
            state = {}
        with self._timed(phase):  # a finished phase restored from a checkpoint returns early
            params = list(module.parameters() if parameters is None else parameters)
            opt = make_adam(params, lr)
            scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
            if lr_schedule == "cosine":
                scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(n_epochs, 1))
            elif lr_schedule == "step":
                scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=lr_step, gamma=lr_gamma)
            live = module.state_dict()
            # the state_dict tensors share storage with the parameters, which Adam updates in
            # place: the best weights are copied into buffers allocated once
            best_state = {k: v.clone() for k, v in live.items()} if patience is not None else None
            best, last, wait, epoch, stopped = math.inf, math.nan, 0, -1, False
            ckpt = getattr(self, "_ckpt", None)
            record = ckpt.phase(phase) if ckpt is not None else None
            first = 0
            if record is not None:
                module.load_state_dict(record["module"])
                restore(state, record["state"])
                self.history_ = {k: list(v) for k, v in record["history"].items()}
                if record["complete"]:
                    torch.set_rng_state(record["torch_rng"])
                    log.info("%s: phase %s restored from the checkpoint", type(self).__name__, phase)
                    self._phases[phase] = record["result"]
                    module.train()
                    return record["result"]
                opt.load_state_dict(record["optimizer"])
                if scheduler is not None:
                    scheduler.load_state_dict(record["scheduler"])
                if best_state is not None:
                    for k, v in record["best_state"].items():
                        best_state[k].copy_(v)
                best, last, wait = record["best"], record["last"], record["wait"]
                torch.set_rng_state(record["torch_rng"])
                first = epoch = record["epoch"] + 1
                log.info("%s: phase %s resumed at epoch %d", type(self).__name__, phase, first + 1)

            def save(complete: bool, result: PhaseResult | None = None) -> None:
                assert ckpt is not None
                ckpt.save(phase, {
                    "complete": complete, "epoch": epoch, "result": result,
                    "module": {k: v.detach().cpu().clone() for k, v in module.state_dict().items()},
                    "state": capture(state), "history": self.history_,
                    "optimizer": None if complete else opt.state_dict(),
                    "scheduler": None if complete or scheduler is None else scheduler.state_dict(),
                    "best_state": None if complete or best_state is None else best_state,
                    "best": best, "last": last, "wait": wait, "torch_rng": torch.get_rng_state(),
                }, self.history_)

            module.train()
            for epoch in range(first, n_epochs):
                totals: dict[str, float] = {}
                weight_sum = 0.0
                epoch_batches: Iterable[Any] = batches(epoch) if batches is not None else (None,)
                if accumulate:
                    epoch_batches = list(epoch_batches)
                    total = sum(float(len(b)) if isinstance(b, Sized) else 1.0
                                for b in epoch_batches)
                    opt.zero_grad()
                for i, batch in enumerate(epoch_batches):
                    w = float(len(batch)) if isinstance(batch, Sized) else 1.0
                    if not accumulate:
                        opt.zero_grad()
                        loss, terms = cast(StepFn, step)(epoch, batch)
                        loss.backward()
                        opt.step()
                    else:
                        last_batch = i == len(epoch_batches) - 1  # type: ignore[arg-type]
                        no_sync = getattr(module, "no_sync", None)  # DDP's
                        sync = (no_sync() if callable(no_sync) and not last_batch
                                else contextlib.nullcontext())
                        with sync:
                            loss, terms = cast(EpochStepFn, step)(epoch, batch, last_batch)
                            (loss * (w / total)).backward()
                        if last_batch:
                            opt.step()
                    weight_sum += w
                    for key, value in terms.items():
                        if isinstance(value, torch.Tensor):
                            value = value.detach()
                        totals[key] = totals.get(key, 0.0) + w * float(value)
                    totals["__loss"] = totals.get("__loss", 0.0) + w * float(loss.detach())
                last = totals.pop("__loss") / weight_sum
                if reduce_loss is not None:
                    last = reduce_loss(last)
                self._log_epoch(phase, epoch, n_epochs, **{k: v / weight_sum for k, v in totals.items()})
                if scheduler is not None:
                    scheduler.step()
                if patience is None:
                    best = min(best, last)
                elif last < best:
                    best, wait = last, 0
                    assert best_state is not None
                    for k, v in live.items():
                        best_state[k].copy_(v)
                else:
                    wait += 1
                    if wait >= patience:
                        stopped = True
                        break
                if stop is not None and stop(epoch):
                    stopped = True
                    break
                if ckpt is not None and epoch + 1 < n_epochs and ckpt.due():
                    save(complete=False)
            if best_state is not None and epoch >= 0:
                module.load_state_dict(best_state)
            if patience is not None and not stopped and n_epochs > 0:
                warnings.warn(
                    f"{type(self).__name__}: the {phase} phase used its whole budget of {n_epochs} "
                    f"epochs before its stopping rule (no lower loss for {patience} epochs) fired; "
                    "raise the budget or lower the patience if the loss still falls.",
                    ConvergenceWarning, stacklevel=3,
                )
            result = PhaseResult(epoch + 1, stopped or (patience is None and stop is None),
                                 float(best), float(last))
            self._phases[phase] = result
            if ckpt is not None:
                save(complete=True, result=result)
            return result

    def fit_predict(self, graph: Graph, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(graph).labels_

    def predict(self, graph: Graph | None = None) -> np.ndarray:
        """``labels_`` of the training graph (``graph=None``). A method that can label the
        nodes of another graph overrides this; here another graph is refused."""
        self._check_fitted()
        if graph is None:
            return np.asarray(self.labels_)
        raise ValueError(
            f"{type(self).__name__} is transductive: it labels the nodes of the graph it was "
            "fitted on and cannot label another graph; call predict() for those labels, or "
            "fit(graph) on the new graph."
        )

    def _check_same_features(self, graph: Any) -> None:
        """For computing on a graph other than the training one: a Graph, same width."""
        self._check_fitted()
        if not isinstance(graph, Graph):
            raise TypeError(f"Expected a graphclust.Graph but got {type(graph).__name__}.")
        if graph.n_features != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} features but this "
                f"graph has {graph.n_features}; give a graph with the same feature columns."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(graph) first."
            )

    def _log_epoch(self, phase: str, epoch: int, n_epochs: int, **losses: float) -> None:
        for key, value in losses.items():
            self.history_.setdefault(f"{phase}/{key}", []).append(float(value))
        if self.epoch_callback is not None:
            self.epoch_callback(phase, epoch, n_epochs, losses)
        if epoch % 50 == 0 or epoch == n_epochs - 1:
            terms = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
            log.info("%s %s epoch %d/%d %s", type(self).__name__, phase, epoch + 1, n_epochs, terms)
