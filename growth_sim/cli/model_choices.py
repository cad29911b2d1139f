"""Option choices the installed models define, looked up when click needs them (not when the CLI is imported)."""

from __future__ import annotations

import click

from growth_sim.models import scenarios


class ScenarioChoice(click.Choice):
    """``reads --scenario``: a read scenario of an installed model."""

    def __init__(self) -> None:  # not click.Choice's: the choices are the property below
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(scenarios())
