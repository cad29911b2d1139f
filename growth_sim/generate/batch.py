"""COPY payloads: columns of text values turned into COPY text format, and their writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

NULL = "\\N"


@dataclass(frozen=True)
class Batch:
    """Rows for one table as COPY text data for `columns`."""

    table: str
    columns: tuple[str, ...]
    rows: int
    data: bytes = b""

    def statement(self) -> sql.Composed:
        """The COPY statement that takes this batch's data."""
        return sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.table), sql.SQL(", ").join(map(sql.Identifier, self.columns)))


def bytea_text(payload: bytes) -> str:
    """A bytea value in COPY text format (hex, with the backslash escaped for COPY)."""
    return "\\\\x" + payload.hex()


def text_batch(table: str, columns: dict[str, Sequence[str]]) -> Batch:
    """A COPY text batch from equally long columns of already-escaped text values."""
    names = tuple(columns)
    values = list(columns.values())
    rows = len(values[0]) if values else 0
    if not rows:
        return Batch(table, names, 0)
    body = "\n".join(map("\t".join, zip(*values, strict=True))) + "\n"
    return Batch(table, names, rows, body.encode())
