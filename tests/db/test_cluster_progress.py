"""What a terminal shows while the private cluster is created (initdb and the rest take seconds): one status
line on stderr, rewritten in place and cleared; nothing when stderr is no terminal or with --quiet / --json."""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import growth_sim_command, new_home, with_source

from growth_sim.db.cluster import Cluster

CREATING = "creating the private PostgreSQL cluster in "


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with new_home() as path:
        yield path


def _run(env: dict[str, str], home: Path, *args: str, terminal: bool) -> str:
    """Run `growth-sim args` on a new cluster; its stderr, or all a terminal of its own shows when `terminal`."""
    env = with_source({**env, "GROWTH_SIM_HOME": str(home), "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"],
                       "COLUMNS": "200"})
    if not terminal:
        return subprocess.run([*growth_sim_command(), *args], env=env, capture_output=True, text=True,
                              timeout=120).stderr
    controller, terminal_end = pty.openpty()
    proc = subprocess.Popen([*growth_sim_command(), *args], env=env, stdout=terminal_end, stderr=terminal_end)
    os.close(terminal_end)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    proc.wait(timeout=120)
    return seen.decode()


def test_a_terminal_sees_what_creating_the_cluster_does(cli_env: dict[str, str], home: Path):
    shown = _run(cli_env, home, "db", "start", terminal=True)
    data_dir = home / "data"
    steps = [s for s in shown.split("\r\x1b[K") if s]
    assert steps[0] == f"{CREATING}{data_dir}: initdb (0 s)", shown
    assert f"{CREATING}{data_dir}: database growth_sim" in shown
    assert f"starting the private PostgreSQL cluster in {data_dir}" in shown
    # The line is cleared before the command prints anything else.
    assert "\r\x1b[K\r\n" not in shown and shown.index("\r\x1b[KPostgreSQL") > shown.rindex("starting the private")


@pytest.mark.parametrize(("args", "terminal"), [
    (("plot", "-o", "unused.png"), False),
    (("plot", "-o", "unused.png", "--json"), True),
    (("advance", "--to", "week-99", "-q"), True),
])
def test_quiet_without_a_terminal_or_when_asked(cli_env: dict[str, str], home: Path, args: tuple[str, ...],
                                               terminal: bool):
    shown = _run(cli_env, home, *args, terminal=terminal)
    assert Cluster(home).exists()  # the cluster was made
    assert "\r" not in shown.replace("\r\n", "\n") and CREATING not in shown, shown
    assert shown.strip().startswith("error: ") and len(shown.strip().splitlines()) == 1, shown
