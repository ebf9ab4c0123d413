"""Secrets from the config: given inline, from an environment variable, or from a file.

A ``Secret`` prints as ``***`` so that it never reaches a log, a report or an error text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class SecretError(ValueError):
    pass


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def read_secret(table: Mapping[str, Any], name: str, where: str, env: Mapping[str, str] | None = None) -> Secret | None:
    """``name``, ``name_env`` or ``name_file`` from a config table (at most one of them)."""
    environ = os.environ if env is None else env
    given = [k for k in (name, f"{name}_env", f"{name}_file") if k in table]
    if len(given) > 1:
        raise SecretError(f"{where}: give only one of {', '.join(given)}")
    if not given:
        return None
    key = given[0]
    if key == name:
        return Secret(str(table[key]))
    if key.endswith("_env"):
        variable = str(table[key])
        if variable not in environ:
            raise SecretError(f"{where}.{key}: the environment variable {variable} is not set")
        return Secret(environ[variable])
    path = Path(str(table[key]))
    try:
        return Secret(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise SecretError(f"{where}.{key}: cannot read {path}: {exc.strerror}") from None
