"""report.xlsx: one sheet per output table, list columns joined as text, no formulas from data."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

log = logging.getLogger(__name__)
LIST_SEPARATOR = ", "


def cell_value(value: Any) -> Any:
    """An Excel-safe value: lists joined, timestamps naive local time, NaN empty, control
    characters removed."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):  # numpy scalars, arrays
        return cell_value(value.tolist())
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, bool | int | float | date):
        return value
    return str(value)


def write_workbook(tables: Mapping[str, pd.DataFrame], path: Path, max_rows: int) -> Path:
    """One sheet per table (header row bold and frozen). Sheets longer than `max_rows` are cut
    and end with a note. Strings are always stored as text, so a verbatim starting with '=' can
    never become a formula. A frame may be a table's first rows with its full length in
    `frame.attrs["total_rows"]`. Written to a temporary file first, then renamed."""
    workbook = Workbook(write_only=True)
    for name, frame in tables.items():
        sheet = workbook.create_sheet(title=name[:31])
        sheet.freeze_panes = "A2"
        header = []
        for column in frame.columns:
            cell = WriteOnlyCell(sheet, value=str(column))
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in frame.head(max_rows).itertuples(index=False, name=None):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=cell_value(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
                cells.append(cell)
            sheet.append(cells)
        total = int(frame.attrs.get("total_rows", len(frame)))  # a table's first rows only
        if total > max_rows:
            log.warning("sheet %s cut at %d of %d rows (report.xlsx_max_rows)", name, max_rows,
                        total)
            note = WriteOnlyCell(sheet, value=f"… {total - max_rows} more rows not shown "
                                              "(report.xlsx_max_rows); read the sink for all")
            note.data_type = "s"
            sheet.append([note])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    workbook.save(tmp)
    os.replace(tmp, path)
    return path
