"""Errors a user can act on. The CLI prints their message on one line and exits with `exit_code`."""


class GrowthSimError(Exception):
    """A failure explained in one line; never shown with a traceback."""

    exit_code = 2


class ProfileError(GrowthSimError):
    """A profile file is malformed; the message names the file and the key."""


class DatabaseError(GrowthSimError):
    """The database cannot be reached or is not in the state a command needs."""


class ClusterError(GrowthSimError):
    """The private PostgreSQL cluster cannot be created, started or stopped."""


class ModelError(GrowthSimError):
    """No installed model has the name a profile or a database gives."""


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
