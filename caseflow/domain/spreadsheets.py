"""CSV for spreadsheets: every cell we write as text, never as a formula.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (CSV injection: a symptom of
`+cmd|' /C calc'!A0` would run a command on the auditor's machine). Such a cell gets a leading
apostrophe, as OWASP recommends: the spreadsheet shows the text as typed, apostrophe hidden.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as the text of a CSV cell: empty for None, true/false, ISO times, and text
    that a spreadsheet cannot take for a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):  # a number, even a negative one, is no formula
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A header line and rows, every cell through `cell`."""
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow([cell(name) for name in header])
    for row in rows:
        table.writerow([cell(value) for value in row])
    return out.getvalue()
