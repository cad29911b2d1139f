"""The documentation keeps up with the code: every command and option is in docs/commands.md, and the links of
the README and of docs/ lead to files and headings that exist. No server needed.

Commands are found by walking the click group (as datasette's test_docs.py does), not by reading source files,
so the test holds however the commands are spread over modules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from growth_sim.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMANDS = ROOT / "docs" / "commands.md"
HEADING = re.compile(r"^#{2,3} (growth-sim(?: [a-z][a-z-]*)*)\s*$", re.MULTILINE)


def _walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Command, click.Context]]:
    yield ctx.command_path, command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx))


COMMAND_TREE = list(_walk(cli, click.Context(cli, info_name="growth-sim")))


def _names(param: click.Parameter) -> list[str]:
    """How a parameter is written on the command line: every option name, or an argument's metavar."""
    if isinstance(param, click.Option):
        return [*param.opts, *param.secondary_opts]
    return [param.human_readable_name.upper()]


def _parameters() -> Iterator[tuple[str, str]]:
    for path, command, ctx in COMMAND_TREE:
        for param in command.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            # -h/--help is on every command: it is documented once, under the top-level command
            if isinstance(param, click.Option) and set(param.opts) == set(ctx.help_option_names) \
                    and path != "growth-sim":
                continue
            for name in _names(param):
                yield path, name


def _sections(text: str) -> dict[str, str]:
    """The text under each `## growth-sim ...` / `### growth-sim ...` heading, up to the next such heading."""
    matches = list(HEADING.finditer(text))
    return {m.group(1): text[m.end():matches[i + 1].start() if i + 1 < len(matches) else len(text)]
            for i, m in enumerate(matches)}


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    return _sections(COMMANDS.read_text())


def test_the_walk_finds_the_commands() -> None:
    paths = {path for path, _, _ in COMMAND_TREE}
    assert {"growth-sim advance", "growth-sim steady", "growth-sim fixture build", "growth-sim db start"} <= paths
    assert len(paths) >= 18


@pytest.mark.parametrize("path", [path for path, _, _ in COMMAND_TREE])
def test_every_command_has_a_section(sections: dict[str, str], path: str) -> None:
    assert path in sections, f"docs/commands.md has no heading '## {path}'"


@pytest.mark.parametrize(("path", "name"), list(_parameters()))
def test_every_option_is_documented_under_its_command(sections: dict[str, str], path: str, name: str) -> None:
    text = sections.get(path, "")
    assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), \
        f"{name} of `{path}` is not documented under '## {path}' in docs/commands.md"


def test_plan_json_keys_are_documented(sections: dict[str, str]) -> None:
    """`plan --json` needs no database, so its keys (top level and one level down) are checked for real."""
    result = CliRunner().invoke(cli, ["plan", "--to", "week-1", "--scale", "0.01", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    keys = set(plan)
    for value in plan.values():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            keys |= set(value[0])
        elif isinstance(value, dict) and set(value) <= {"hour", "time", "label"}:
            keys |= set(value)
    missing = sorted(k for k in keys if f"`{k}`" not in sections["growth-sim plan"])
    assert not missing, f"plan --json keys missing from docs/commands.md: {missing}"


def _prose(path: Path) -> str:
    """A markdown file without its fenced code blocks (a `# comment` in a shell block is no heading)."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file."""
    headings = re.findall(r"^#+ (.+)$", _prose(path), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _links(path: Path) -> list[str]:
    """The relative links of a markdown file (to files of this repository, with or without an anchor)."""
    return sorted({link for link in re.findall(r"\]\(([^)\s]+)\)", _prose(path))
                   if not re.match(r"[a-z]+:", link)})


DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINKS = [(source, link) for source in DOCS for link in _links(source)]


def test_the_readme_links_into_docs() -> None:
    assert {"docs/commands.md", "docs/design.md", "docs/findings.md", "docs/performance.md",
            "docs/reliability.md"} <= set(_links(README))


@pytest.mark.parametrize(("source", "link"), LINKS, ids=[f"{s.relative_to(ROOT)}:{link}" for s, link in LINKS])
def test_links_resolve(source: Path, link: str) -> None:
    """Every link from the README into docs/, and between the pages of docs/, leads to a file and a heading."""
    file, _, anchor = link.partition("#")
    target = (source.parent / file).resolve() if file else source
    assert target.is_file(), f"{source.relative_to(ROOT)} links to {file}, which does not exist"
    if anchor:
        assert anchor in _anchors(target), f"{source.relative_to(ROOT)} links to {link}: no such heading"
