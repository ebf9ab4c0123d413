"""Downloads of a page's rows as CSV or JSON: a file name the browser keeps, and CSV cells a
spreadsheet cannot mistake for formulas (a value of a discovered change is whatever a host
reported, so ``=HYPERLINK(...)`` in a package name must stay text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from fastapi.responses import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def csv_cell(value: Any) -> str:
    """A value as CSV text: times ISO 8601, lists joined by ';', maps as JSON, and a text that a
    spreadsheet would run as a formula prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, date | datetime):
        text = value.isoformat()
    elif isinstance(value, list | tuple):
        text = ";".join(csv_cell(v) for v in value)
    elif isinstance(value, dict):
        text = orjson.dumps(value, default=str).decode()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_download(filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment(filename))


def json_download(filename: str, data: Any) -> Response:
    body = orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2)
    return Response(body, media_type="application/json", headers=_attachment(filename))
