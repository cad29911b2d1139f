"""COPY payloads: columns of text values turned into COPY text or binary format, and their writing."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import sql

NULL = "\\N"
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
BINARY_TRAILER = b"\xff\xff"


@dataclass(frozen=True)
class Batch:
    """Rows for one table as COPY text data for `columns`."""

    table: str
    columns: tuple[str, ...]
    rows: int
    data: bytes = b""
    binary: bool = False  # the data is COPY binary tuples (without the format's header and trailer)

    def statement(self) -> sql.Composed:
        """The COPY statement that takes this batch's data."""
        return sql.SQL("COPY {} ({}) FROM STDIN{}").format(
            sql.Identifier(self.table), sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            sql.SQL(" (FORMAT binary)" if self.binary else ""))


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


_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's timestamps count microseconds from it
_FIELDS: dict[str, Callable[[str], bytes]] = {
    "uuid": lambda v: bytes.fromhex(v.replace("-", "")),
    "text": str.encode,
    "int4": lambda v: struct.pack(">i", int(v)),
    "int8": lambda v: struct.pack(">q", int(v)),
    "timestamptz": lambda v: struct.pack(">q", (datetime.fromisoformat(v) - _EPOCH_2000) // timedelta(microseconds=1)),
}


def binary_batch(table: str, columns: dict[str, tuple[str, Sequence[str | bytes]]]) -> Batch:
    """A COPY binary batch from equally long columns of (type, values): the values `text_batch` would take (COPY
    text, `NULL` for null; no other escape), or the raw bytes of a ``bytea``.

    The server then takes a large bytea as it is, where COPY text would make it parse and decode twice its
    size in hex. Types: uuid, text (any string type), int4, int8, timestamptz, bytea.
    """
    names = tuple(columns)
    encoders = [_field(kind) for kind, _ in columns.values()]
    values = [v for _, v in columns.values()]
    rows = len(values[0]) if values else 0
    out = bytearray()
    count = struct.pack(">h", len(names))
    for row in zip(*values, strict=True):
        out += count
        for encode, value in zip(encoders, row, strict=True):
            if value == NULL:
                out += b"\xff\xff\xff\xff"
                continue
            field = encode(value)
            out += struct.pack(">i", len(field))
            out += field
    return Batch(table, names, rows, bytes(out), binary=True)


def _field(kind: str) -> Callable[[str | bytes], bytes]:
    if kind == "bytea":
        return lambda v: v if isinstance(v, bytes) else _refuse(kind, v)
    encode = _FIELDS[kind]
    return lambda v: encode(v) if isinstance(v, str) and "\\" not in v else _refuse(kind, v)


def _refuse(kind: str, value: object) -> bytes:
    raise ValueError(f"a binary COPY {kind} field takes plain text (raw bytes for bytea), not {str(value)[:40]!r}")
