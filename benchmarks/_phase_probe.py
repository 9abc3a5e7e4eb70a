"""Shared by the diagnostics that score a model during training: read a phase's module.

``probe(model, phase, every, score)`` makes ``model`` call ``score(module, epoch, losses)``
every ``every`` epochs of ``phase`` (and at its last epoch), with the module that phase
trains. The fit is unchanged: the module is only read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def probe(model: Any, phase: str, every: int,
          score: Callable[[Any, int, dict[str, float]], None]) -> None:
    held: dict[str, Any] = {}
    train = model._train

    def keep(name, module, *a, **kw):
        if name == phase:
            held["module"] = module
        return train(name, module, *a, **kw)

    def callback(name, epoch, n_epochs, losses):
        if name == phase and ((epoch + 1) % every == 0 or epoch in (0, n_epochs - 1)):
            score(held["module"], epoch, losses)

    model._train = keep
    model.epoch_callback = callback
