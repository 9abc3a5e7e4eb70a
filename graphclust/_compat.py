"""Differences between the Python versions the package supports (3.10 and later)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["load_toml"]


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML text: the standard library's ``tomllib`` (3.11+), else ``tomli`` (the
    same parser, a dependency on 3.10 only)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10
        import tomli as tomllib
    data: dict[str, Any] = tomllib.loads(text)
    return data
