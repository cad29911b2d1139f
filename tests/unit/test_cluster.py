"""The private cluster, where no server starts: binaries missing or misplaced, socket paths too long.

The cluster's lifecycle, settings and placement are in tests/db/test_cluster.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from growth_sim.db import binaries, homes
from growth_sim.db.cluster import Cluster
from growth_sim.errors import ClusterError


def test_pg_bindir_must_hold_server_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    with pytest.raises(ClusterError, match=f"^PG_BINDIR={tmp_path} has no initdb, pg_ctl and postgres"):
        Cluster(tmp_path / "home").ensure_running()


def test_no_binaries_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(binaries, "candidate_bin_dirs", lambda: iter(()))
    with pytest.raises(ClusterError) as info:
        Cluster(tmp_path / "home").ensure_running()
    assert str(info.value).startswith("no PostgreSQL server binaries found: install postgresql")
    assert "PG_BINDIR" in str(info.value)


def test_socket_dir_moves_out_of_a_long_path(tmp_path: Path):
    long_base = tmp_path / ("x" * 120)
    socket_dir = homes.socket_dir_for(long_base, long_base)
    assert socket_dir.parent == Path("/tmp")
    assert len(str(socket_dir / ".s.PGSQL.65535")) < 100
    assert homes.socket_dir_for(Path("/srv/gs"), Path("/srv/gs")) == Path("/srv/gs/run")
