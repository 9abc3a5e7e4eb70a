"""Where dataset files live, and how missing ones are fetched and checked.

The data root is, in order: the ``root`` argument, the ``GRAPHCLUST_DATA`` environment
variable, else ``$XDG_CACHE_HOME/graphclust`` (``~/.cache/graphclust``). Inside it the
layout is ``<format>/<dataset>/<files>`` (e.g. ``planetoid/cora/raw/ind.cora.x``).
Downloads go to a temporary name beside the target, are checked against a pinned
SHA-256, and only then renamed into place, so a failed fetch never leaves a bad file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["data_root", "RemoteFile", "ensure_files", "MissingDataError", "sha256_of"]

log = logging.getLogger(__name__)


class MissingDataError(FileNotFoundError):
    """A dataset's files are not under the data root and could not be fetched."""


@dataclass(frozen=True)
class RemoteFile:
    """A file of a dataset: its path under the root, public URL and pinned SHA-256.

    ``sha256=None`` means no published checksum is known to us; such a file is accepted
    after download with a warning and the loader checks its shape instead.
    """

    path: str
    url: str | None = None
    sha256: str | None = None


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("GRAPHCLUST_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "graphclust"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(remote: RemoteFile, target: Path, timeout: float) -> None:
    assert remote.url is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        log.info("downloading %s -> %s", remote.url, target)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=timeout) as r:
            while chunk := r.read(1 << 20):
                out.write(chunk)
        if remote.sha256 is not None:
            got = sha256_of(tmp)
            if got != remote.sha256:
                raise OSError(
                    f"SHA-256 mismatch for {remote.url}: expected {remote.sha256}, got {got}; "
                    "the file was discarded."
                )
        else:
            log.warning("%s has no pinned SHA-256; accepted on its shape only", remote.url)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_files(
    dataset: str,
    files: Sequence[RemoteFile],
    root: Path,
    *,
    download: bool = True,
    timeout: float = 30.0,
) -> list[Path]:
    """Return the local paths of ``files``; fetch the missing ones when allowed."""
    paths = [root / f.path for f in files]
    missing = [f for f, p in zip(files, paths) if not p.is_file()]
    if not missing:
        return paths
    problems: list[str] = []
    if download and all(f.url for f in missing):
        for f in missing:
            try:
                _download(f, root / f.path, timeout)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                problems.append(f"{f.url}: {exc}")
                break
        else:
            return paths
    names = "\n  ".join(str(root / f.path) for f in missing)
    sources = "\n  ".join(f"{f.path} <- {f.url}" for f in missing if f.url)
    reason = (
        "download failed: " + "; ".join(problems)
        if problems
        else ("downloads are off (download=False)" if download is False else "no public address is known")
    )
    raise MissingDataError(
        f"Dataset {dataset!r} is missing {len(missing)} file(s) under the data root {root}:\n"
        f"  {names}\n"
        f"({reason}.)\n"
        + (f"Public sources:\n  {sources}\n" if sources else "")
        + "Put the files at those paths, or point root= / GRAPHCLUST_DATA at a folder that has them."
    )
