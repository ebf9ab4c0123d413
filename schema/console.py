"""What every command of the project does alike (``cmdb``, ``cmdb-server``, ``cmdb-agent``,
``cmdb-discover``): a reader that stops reading (``| head``) ends the command quietly.

Here because ``schema`` is the one package every install has.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

CLOSED_PIPE = 141
"""The status of a Unix tool that SIGPIPE ended (128 + 13), as ``git log | head`` leaves it."""


def run(main: Callable[[], int]) -> int:
    """``main()``'s exit status; a closed standard output ends it with CLOSED_PIPE and no traceback."""
    try:
        status = main()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that says nothing either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE
