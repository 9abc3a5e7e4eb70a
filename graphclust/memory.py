"""Memory checks before big allocations: a run that would not fit stops at once, saying how
much it needs, how much there is, and which parameter to change (instead of the kernel's
OOM killer ending it hours in)."""

from __future__ import annotations

import os

__all__ = ["available_bytes", "check_fits"]


def available_bytes() -> int | None:
    """Memory a new allocation can get now: ``MemAvailable`` of /proc/meminfo (Linux), else
    the physical memory (``sysconf``), else None (unknown: nothing is checked)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(need: float, what: str, parts: dict[str, float], fix: str) -> None:
    """Raise MemoryError when ``need`` bytes exceed the available memory; ``parts`` names
    the terms of the estimate (bytes), ``fix`` what to change."""
    have = available_bytes()
    if have is None or need <= have:
        return
    detail = ", ".join(f"{k} {_size(v)}" for k, v in parts.items())
    raise MemoryError(f"{what} needs about {_size(need)} ({detail}) but {_size(have)} are "
                      f"available; {fix}.")


def _size(b: float) -> str:
    return f"{b / 1e9:.1f} GB" if b >= 1e8 else f"{b / 1e6:.1f} MB"
