"""Complaint tickets: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX exports, one row a ticket."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows.sources.base import (
    RecordProblem,
    SourceBatch,
    SourceContext,
    descriptive_fields,
    new_record,
    optional_float,
    optional_str,
    parse_timestamp,
    quarantine,
    read_text_file,
    require,
    require_text,
)
from nlp.errors import Reason
from nlp.records import Record, Utterance

CHANNEL = "complaint"
PII_COLUMNS = ("customer_name", "phone", "customer_id", "email", "id_card")
KNOWN = {"ticket_id", "created_at", "industry", "product", "region", "title", "content", "csat",
         *PII_COLUMNS}


def _header(cells: list[Any]) -> list[str]:
    return [str(c or "").strip().lstrip("\ufeff").lower() for c in cells]


def without_pii(header: list[str], cells: list[str]) -> list[str]:
    return ["" if i < len(header) and header[i] in PII_COLUMNS else c for i, c in enumerate(cells)]


def iter_csv_rows(path: Path) -> Iterator[tuple[str, list[str] | None, dict[str, Any] | None]]:
    """(location, header, row dict) per data row; a row that does not fit the header is yielded
    with row None and its cells, personal columns blanked, in header's place for the excerpt."""
    text, _ = read_text_file(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _header(next(reader, []))
    for cells in reader:
        location = f"line {reader.line_num}"
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield location, without_pii(header, cells), None
        else:
            yield location, header, dict(zip(header, cells, strict=True))


def iter_xlsx_rows(path: Path) -> Iterator[tuple[str, list[str] | None, dict[str, Any] | None]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = _header(list(next(rows, [])))
        for number, cells in enumerate(rows, start=2):
            cells = list(cells)
            if not any(c not in (None, "") for c in cells):
                continue
            if len(cells) > len(header) and any(c not in (None, "") for c in cells[len(header):]):
                yield f"row {number}", without_pii(header, [str(c) for c in cells]), None
                continue
            cells = (cells + [None] * len(header))[: len(header)]
            yield f"row {number}", header, dict(zip(header, cells, strict=True))
    finally:
        book.close()


def ticket_to_record(row: dict[str, Any], ctx: SourceContext) -> Record:
    ticket_id = require(row, "ticket_id")
    created_at = parse_timestamp(require(row, "created_at"), ctx)
    content = require_text(row.get("content"), "content")
    title = optional_str(row.get("title"))
    text = f"{title}。{content}" if title and title not in content else content
    names = [n for n in (optional_str(row.get("customer_name")),) if n]
    meta = {k: v for k, v in row.items() if k not in KNOWN and v not in (None, "")}
    if names:
        meta["_pii_names"] = names
    return new_record(
        CHANNEL, ticket_id, ctx,
        customer_id=row.get("customer_id"),
        created_at=created_at,
        **descriptive_fields(row),
        rating=optional_float(row.get("csat")),
        turns=[Utterance(role="customer", text=text, ts=created_at)],
        meta={k: str(v) if not isinstance(v, list) else v for k, v in meta.items()},
    )


def read_file(path: Path, ctx: SourceContext, batch: SourceBatch) -> None:
    rows = iter_xlsx_rows(path) if path.suffix.lower() == ".xlsx" else iter_csv_rows(path)
    for location, header, row in rows:
        batch.read += 1
        if row is None:
            problem = RecordProblem(
                Reason.MALFORMED_ROW, f"{len(header or [])} fields where the header has another count"
            )
            quarantine(batch, path, location, problem, ",".join(header or []))  # masked
            continue
        try:
            batch.add(ticket_to_record(row, ctx))
        except RecordProblem as problem:
            quarantine(batch, path, location, problem, row, PII_COLUMNS)
