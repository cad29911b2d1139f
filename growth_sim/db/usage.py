"""Who uses a private cluster: leases, so that a server a command started stops when its last user leaves.

A process that uses the cluster holds a *lease* on its home: a shared lock on ``H/.users.lock``, which the
kernel drops when the process ends, however it ends. A lease that ends while no other is held is the last user.
`command_scope` lets a command's library calls (`growth_sim.db.connect.resolve_dsn`) hold the cluster they
start for as long as the command runs (see `Cluster.using`).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from growth_sim.db.homes import make_home

if TYPE_CHECKING:
    from growth_sim.db.cluster import Cluster

USERS_FILE = ".users.lock"


class Lease:
    """A shared hold on a home's cluster, for as long as the process keeps it."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh

    def sole(self) -> bool:
        """Whether no other lease is held; if so, this one becomes exclusive (nobody can join until it ends)."""
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextlib.contextmanager
def lease(home: Path) -> Iterator[Lease]:
    """Hold a lease on `home` while the block runs; waits while a last user is stopping the server."""
    make_home(home)
    with open(home / USERS_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH)
        yield Lease(fh)


@dataclass
class _Scope:
    stack: contextlib.ExitStack
    on_step: Callable[[str], None] | None
    held: set[Path] = field(default_factory=set)


_SCOPE: ContextVar[_Scope | None] = ContextVar("growth_sim_cluster_scope", default=None)


@contextlib.contextmanager
def command_scope(*, on_step: Callable[[str], None] | None = None) -> Iterator[None]:
    """Run a command: a private cluster it uses (`use`) is held until the block ends, then released.

    `on_step` is told what creating or stopping the cluster is doing (an empty text when that is done).
    """
    with contextlib.ExitStack() as stack:
        token = _SCOPE.set(_Scope(stack, on_step))
        try:
            yield
        finally:
            _SCOPE.reset(token)


def use(cluster: Cluster) -> None:
    """Make sure `cluster` runs: for the rest of the command inside a `command_scope`, else until it is stopped."""
    scope = _SCOPE.get()
    if scope is None:
        cluster.ensure_running()
    elif cluster.home not in scope.held:
        scope.stack.enter_context(cluster.using(on_step=scope.on_step))
        scope.held.add(cluster.home)
