"""Help that teaches: every command's --help ends with real examples, options are written one way, `growth-sim`
alone lists the commands, and targets are read in any case. No server needed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from support import with_source

from growth_sim.cli import cli
from growth_sim.profile import load_profile

CLICK_METAVARS = {"TEXT", "INTEGER", "FLOAT", "PATH", "FILENAME", "BOOLEAN", "INTEGER RANGE", "FLOAT RANGE"}


def _commands(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                          click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands())


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="growth-sim", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _parse(args: list[str]) -> None:
    """Parse a command line as `growth-sim` would, down to the command that runs (nothing is run)."""
    command: click.Command = cli
    parent = None
    name = "growth-sim"
    while True:
        ctx = command.make_context(name, list(args), parent=parent)
        if not isinstance(command, click.Group):
            return
        args = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else ctx.args
        if not args:
            return
        name, command, args = command.resolve_command(ctx, args)
        parent = ctx


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "growth-sim")
def test_help_ends_with_examples_that_parse(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # fixture files the examples name exist here (parsing checks they do)
    text = _help(path).rstrip().splitlines()
    start = max(i for i, line in enumerate(text) if line.strip() == "Examples:")
    shown = [line.strip() for line in text[start + 1:]]
    assert 1 <= len(shown) <= 3, text[start:]
    for example in shown:
        words = shlex.split(example)
        assert words[0] == "growth-sim" and words[1:1 + len(path)] == list(path), example
        for word in words:
            if ".sql" in word:
                (tmp_path / word).touch()
        if "--help" not in words:
            _parse(words[1:])


@pytest.mark.parametrize("path,command", COMMANDS, ids=lambda p: " ".join(p) if isinstance(p, tuple) else "")
def test_options_are_written_one_way(path, command):
    ctx = click.Context(command, info_name=path[-1] if path else "growth-sim")
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.is_flag or param.count:
            continue
        metavar = param.make_metavar(ctx)
        assert metavar.strip("[]") not in CLICK_METAVARS, (path, param.opts, metavar)
        assert "default" not in (param.help or "").lower(), (path, param.opts, "a default in prose")


def test_advance_help_names_the_milestones():
    text = " ".join(_help(("advance",)).split())
    labels = [m.label for m in load_profile("taskpilot").milestones]
    assert f"Milestones of taskpilot: {', '.join(labels)}." in text


def test_growth_sim_alone_lists_the_commands():
    run = subprocess.run([sys.executable, "-m", "growth_sim"], env=with_source(dict(os.environ)), capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "error" not in run.stdout + run.stderr
    assert "Commands:" in run.stdout and "advance" in run.stdout


def test_targets_are_read_in_any_case():
    upper = CliRunner().invoke(cli, ["plan", "--to", "Week-8", "--scale", "0.01", "--json"])
    lower = CliRunner().invoke(cli, ["plan", "--to", "week-8", "--scale", "0.01", "--json"])
    assert upper.exit_code == 0, upper.output
    assert upper.output == lower.output
