"""COPY binary batches (`growth_sim.generate.batch.binary_batch`): the server reads back exactly the values a COPY
text batch of the same columns gives, a large bytea included."""

from __future__ import annotations

import os

import psycopg
import pytest

from growth_sim.engine import pipeline
from growth_sim.generate.batch import NULL, binary_batch, bytea_text, text_batch

COLUMNS = "id uuid, name varchar(40), n int4, big int8, at timestamptz, blob bytea"
PAYLOAD = os.urandom(300_000)
VALUES = {
    "id": ["5a1d0f6e-8a7b-4c3d-9e2f-0123456789ab", "00000000-0000-4000-8000-000000000001"],
    "name": ["document-1.png", NULL],
    "n": ["-2147483648", "1600"],
    "big": ["9007199254740993", NULL],
    "at": ["2026-01-05T10:00:00Z", "1999-12-31T23:59:59Z"],
}
TYPES = {"id": "uuid", "name": "text", "n": "int4", "big": "int8", "at": "timestamptz"}


def test_a_binary_batch_holds_the_values_of_the_text_batch(fresh_db: str):
    text = text_batch("as_text", {**VALUES, "blob": [bytea_text(PAYLOAD), NULL]})
    binary = binary_batch("as_binary", {**{c: (TYPES[c], v) for c, v in VALUES.items()}, "blob": ("bytea",
                                                                                                  [PAYLOAD, NULL])})
    assert binary.statement().as_string(None).endswith("FROM STDIN (FORMAT binary)")
    assert len(binary.data) < len(text.data) * 0.6  # the payload as it is, not in hex
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for table in ("as_text", "as_binary"):
            conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
        with conn.transaction():
            # two batches in one COPY: the format's header and trailer once around both
            assert pipeline.write(conn, [binary, binary, text]) == {"as_binary": 4, "as_text": 2}
        rows = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ("as_text", "as_binary")}
    assert rows["as_binary"] == sorted(rows["as_text"] * 2, key=lambda row: row[0])
    assert rows["as_text"][1][5] == PAYLOAD and rows["as_text"][1][4].isoformat() == "2026-01-05T10:00:00+00:00"


def test_a_binary_batch_refuses_what_it_cannot_send_as_is():
    with pytest.raises(ValueError, match="plain text"):
        binary_batch("t", {"name": ("text", ["tab\\there"])})  # a COPY text escape
    with pytest.raises(ValueError, match="raw bytes"):
        binary_batch("t", {"blob": ("bytea", [bytea_text(b"ab")])})
