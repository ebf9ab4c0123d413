"""pysnmp's own MIB modules loaded from their compiled files, not compiled from source twice.

Every ``SnmpEngine`` loads a dozen MIB modules that pysnmp ships as Python source
(``pysnmp/smi/mibs/*.py``). pysnmp 7's loader looks for a ``.pyc`` in the layout of Python 2
(beside the source, an 8-byte header), never finds one, compiles the source, then, as
Python runs with ``__debug__`` on, ignores that code and has ``runpy.run_path`` compile the
source again: a tenth of a CPU second per process, before the first packet of a scan
(issue 17). pip compiled those files when it installed pysnmp (``__pycache__``), so this
module has the loader take the code from there when it is current (the same check Python's
import makes: magic number, the source's mtime and size), and run it once. Anything else
(no compiled file, a stale one, a MIB of another source) goes the way pysnmp goes.

Applied once, by ``discovery.snmp.client``; ``tests/integration/test_discovery_snmp.py``
scans real agents through it.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import runpy
from types import CodeType
from typing import Any

from pysnmp.smi import builder

_compiled: dict[str, CodeType] = {}


def _cached_code(source: str) -> CodeType | None:
    """The code pip compiled for ``source``, if it is the source's as it is now."""
    try:
        with open(importlib.util.cache_from_source(source), "rb") as handle:
            data = handle.read()
        stat = os.stat(source)
    except (OSError, NotImplementedError, ValueError):
        return None
    header_ok = (
        data[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(data[4:8], "little") == 0  # a timestamp-checked .pyc
        and int.from_bytes(data[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(data[12:16], "little") == stat.st_size & 0xFFFFFFFF
    )
    if not header_ok:
        return None
    try:
        code = marshal.loads(data[16:])  # noqa: S302 (pip's compiled file of pysnmp's own source)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


_read = builder.DirMibSource.read


def _read_compiled(self: Any, name: str) -> tuple[Any, str]:
    source = os.path.join(self._srcName, name + ".py")
    code = _cached_code(source)
    if code is None:
        return _read(self, name)  # type: ignore[no-any-return]
    _compiled[source] = code
    return code, ".py"


class _Runpy:
    """``runpy`` as pysnmp's loader sees it: a module it has the code of runs that code."""

    @staticmethod
    def run_path(path: str, init_globals: dict[str, Any] | None = None) -> dict[str, Any]:
        code = _compiled.get(path)
        if code is None:
            return runpy.run_path(path, init_globals)
        namespace: dict[str, Any] = {**(init_globals or {}), "__name__": "<run_path>", "__file__": path}
        exec(code, namespace)  # noqa: S102 (pysnmp's own MIB module, as pysnmp would run it)
        return namespace


def install() -> None:
    """Have pysnmp's MIB loader use the compiled files (idempotent)."""
    if builder.DirMibSource.read is not _read_compiled:
        builder.DirMibSource.read = _read_compiled
        builder.runpy = _Runpy
