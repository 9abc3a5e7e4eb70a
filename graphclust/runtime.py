"""Process-wide settings that only a program owning its process may change: glibc's
malloc thresholds. The CLI and the benchmark runner call :func:`tune_malloc`; the library
never does (a script calls it once, or sets the ``MALLOC_*`` environment variables).
"""

from __future__ import annotations

__all__ = ["MMAP_THRESHOLD_BYTES", "KEEP_FREED_BYTES", "TOP_PAD_BYTES", "tune_malloc",
           "check_mmap_threshold_mb"]

#: glibc's malloc raises its mmap threshold (up to 32 MiB) each time a large block is freed,
#: after which freed tensors stay in fragmented heap arenas: on a PubMed-sized graph that
#: took peak RSS from ~740 MB to ~1000 MB. Fixing the threshold at 8 MiB hands big tensors
#: back to the OS on free; tensors below it (all of Cora's) come from the heap.
MMAP_THRESHOLD_BYTES = 8 << 20
#: Fixing the threshold also stops glibc adapting its trim threshold (128 KiB by default), so
#: the heap top was handed back to the OS after nearly every free and each training step
#: page-faulted its (N, hidden) blocks in afresh. Keeping up to 256 MiB of freed heap (and
#: growing the heap 64 MiB at a time) took a default GMIM run on Cora from 18.6-20.6 s to
#: 15.9-16.3 s on 2 cores, with the same peak RSS (~550 MB).
KEEP_FREED_BYTES = 256 << 20
TOP_PAD_BYTES = 64 << 20


def tune_malloc(
    mmap_threshold: int = MMAP_THRESHOLD_BYTES,
    keep_freed: int = KEEP_FREED_BYTES,
    top_pad: int = TOP_PAD_BYTES,
    *,
    heap: bool = False,
) -> bool:
    """Set glibc's malloc thresholds for this process (the CLI and the benchmark runner own
    their process and call this; the library never does). Returns False where the C library
    is not glibc. Library users get the same effect from the environment:
    ``MALLOC_MMAP_THRESHOLD_=8388608 MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_TOP_PAD_=67108864``.

    ``heap=True`` (for graphs of 10^5 nodes and more): every block comes from the heap and
    freed memory stays in the process (``MALLOC_MMAP_MAX_=0``, no trimming), so a training
    step's (N, hidden) blocks reuse the previous step's pages. With mmapped blocks each
    step page-faults them in afresh and the kernel zeroes every page: a GMIM epoch on the
    100,000-node scaling graph (hidden 256) spent 0.9-1.2 s of 1.1-1.5 s in the kernel,
    400,000 page faults; on the heap 0.8 s, none. The price is peak memory: freed blocks
    are not handed back and the heap fragments (that epoch's process: 1.86 -> 2.62 GB).
    """
    import ctypes
    import ctypes.util

    settings = [(-3, mmap_threshold), (-1, keep_freed), (-2, top_pad)]
    if heap:
        # -4 M_MMAP_MAX 0: no block from mmap; M_TRIM_THRESHOLD -1: never trim (mallopt(3))
        settings = [(-4, 0), (-1, -1), (-2, top_pad)]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # mallopt's parameter numbers: -1 M_TRIM_THRESHOLD, -2 M_TOP_PAD, -3 M_MMAP_THRESHOLD
        return all(bool(libc.mallopt(param, int(value))) for param, value in settings)
    except (OSError, AttributeError):
        return False


def check_mmap_threshold_mb(value: object, name: str = "mmap_threshold_mb") -> int:
    """A glibc mmap threshold in MiB: an int from 1 to 32 (glibc refuses more on 64-bit)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 32:
        raise ValueError(f"{name} must be an int from 1 to 32 (MiB; glibc's limit on 64-bit) "
                         f"but got {value!r}; leave it out for the CLI's 8.")
    return value
