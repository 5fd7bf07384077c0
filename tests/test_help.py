"""Every command's --help shows its examples unwrapped (click's \\b paragraphs), as sqlite-utils does."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from click.testing import CliRunner

from ingest.cli import cli


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


COMMANDS = _commands(cli)


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "import", "crawl", "search", "export", "serve", "login", "login weread", "logout weread"} <= names
    assert len(COMMANDS) >= 16


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "jianbao" for p, _ in COMMANDS])
def test_help_shows_its_examples_each_on_one_line(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=60)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heading = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s*Examples?:", line))
    examples = []
    for line in lines[heading + 1 :]:
        if not line.strip():
            break
        examples.append(line.strip())
    assert examples, result.output
    for example in examples:
        words = shlex.split(example)
        assert words[0] == "jianbao", example
        # the example names this command (the top level shows several)
        if path:
            assert words[1 : 1 + len(path)] == list(path), example
    # without \b click folds the paragraph into running text: no "Examples:" line of its own, and at
    # 60 columns a long example would be cut into lines that do not start with "jianbao"
