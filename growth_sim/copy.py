"""COPY payloads: columns of text values turned into COPY text format, and their writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

NULL = "\\N"


@dataclass(frozen=True)
class Batch:
    """Rows for one table as COPY text data for `columns`."""

    table: str
    columns: tuple[str, ...]
    rows: int
    data: bytes = b""

    def write(self, conn: psycopg.Connection) -> None:
        """COPY the rows into the table."""
        if not self.rows:
            return
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.table), sql.SQL(", ").join(map(sql.Identifier, self.columns)))
        with conn.cursor() as cur, cur.copy(statement) as copy:
            view = memoryview(self.data)
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start:start + (1 << 20)])


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
