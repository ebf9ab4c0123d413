"""What the commands print and read alike: JSON, tables, pages, times, text from files.

Results go to standard output (so ``| head`` and ``$(...)`` see them); hints and page
counts go to standard error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

JSON_FLAG = argparse.ArgumentParser(add_help=False)
JSON_FLAG.add_argument("--json", action="store_true", help="print the API's JSON (its error body too, on failure)")
"""A parent parser: every command has ``--json``."""


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def hint(text: str) -> None:
    """What to do next, for the person at the terminal: on stderr, so pipes see only results."""
    print(text, file=sys.stderr)


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_page_footer(page: dict[str, Any]) -> None:
    """``(1-20 of 31; next page: --offset 20)`` on stderr."""
    shown_to = page["offset"] + len(page["items"])
    more = f"; next page: --offset {page['next_offset']}" if page["next_offset"] is not None else ""
    hint(f"({page['offset'] + 1 if page['items'] else 0}-{shown_to} of {page['total']}{more})")


_RELATIVE = re.compile(r"^(?:now)?(?:([+-])((?:\d+[mhd])+))?$")
_AMOUNT = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def instant(text: str) -> str:
    """An argparse type: an ISO 8601 time (without a zone: this machine's local time), or
    ``now``, ``now+2h``, ``+1d2h``, ``now-30m``; the ISO text with its zone, as the API wants.
    (``-1d`` alone looks like an option to argparse: ``now-1d`` or ``--start=-1d``.)"""
    relative = _RELATIVE.match(text.strip().lower())
    if relative and text.strip():
        sign, amounts = relative.groups()
        try:
            offset = sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in _AMOUNT.findall(amounts or "")), timedelta())
            moment = datetime.now(UTC) + (offset if sign != "-" else -offset)
        except OverflowError:
            raise argparse.ArgumentTypeError(f"{text!r} is too far from now") from None
        return moment.replace(microsecond=0).isoformat()
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give ISO 8601 (2026-12-01T22:00+01:00) or now, now+2h, +1d2h, now-30m"
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).isoformat()


def record_id(text: str) -> str:
    """An argparse type: a record's id as given (CHG0001), never empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an id cannot be empty")
    return text.strip()


def path_part(value: str) -> str:
    """A name or id made safe to put in a URL path (a ``/`` or ``?`` in it stays part of it)."""
    return quote(value, safe="")


def when(value: str | None) -> str:
    """An API time, short and in UTC: ``2026-12-01 21:00 UTC``."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def text_file(source: str) -> str:
    """An argparse type: the text of a file, or of standard input for ``-`` (a plan)."""
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read {source}: {exc}") from None


def labelled(key: str, value: Any, width: int = 12) -> None:
    """``key         value`` lines, as ``cmdb ci show`` prints them."""
    print(f"{key:<{width}} {value}")


def indented(text: str, prefix: str = "  ") -> None:
    for line in text.rstrip().splitlines():
        print(f"{prefix}{line}")
