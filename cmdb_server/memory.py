"""Giving memory back to the system after a large request (issue 14).

A 100,000-record report makes a few million short-lived Python objects. Python frees
them, but glibc keeps the freed pages in its heaps, so a worker that once took a big
report stayed at its peak (1.4 GB measured) for good. ``release()`` collects what
reference cycles hold and asks glibc to return free pages (``malloc_trim``); elsewhere
than glibc it only collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

LARGE_BODY_BYTES = 2**20
"""A request body from this size on is worth a release after it (a trim takes a few ms; a host's
usual report of 1,500 packages is about 450 KiB)."""


def _malloc_trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return getattr(libc, "malloc_trim", None)
    except OSError:  # pragma: no cover - no C library to load
        return None


_TRIM = _malloc_trim()


def release() -> None:
    """Collect garbage and return free heap pages to the system."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
