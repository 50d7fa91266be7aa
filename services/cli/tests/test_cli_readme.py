"""The README's `pulse ...` lines against the command line itself (pure, no stack): every
command and option the README writes exists, each line of the command table names every
option its command requires (issue 22: `pulse comments --unit U --period P` failed with
"survey_id: is required"), and every command's `--help` works and shows no empty default."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pulse_cli.main import cli

README = Path(__file__).resolve().parents[3] / "README.md"
SPAN = re.compile(r"`(pulse [^`]+)`")
FENCED = re.compile(r"^\s*(?:\$ )?(pulse [^#\n]+)", re.MULTILINE)
TABLE_SECTION = "## The `pulse` command line"


def _walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(cli, ())


def _resolve(tokens: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """(command, its path, the tokens after it)."""
    command: click.Command = cli
    path: list[str] = []
    for index, token in enumerate(tokens):
        if isinstance(command, click.Group) and token in command.commands:
            command = command.commands[token]
            path.append(token)
        else:
            return command, path, tokens[index:]
    return command, path, []


def _tokens(text: str) -> list[str]:
    text = text.replace("\\|", "|").replace("[", " ").replace("]", " ")
    return [t for t in text.split() if t not in ("|", "...") and not t.endswith("...")]


def _forms(span: str) -> list[tuple[click.Command, list[str], list[str]]]:
    """Each command a README span names: "a b / c X" is `a b` and `a c X`; "a b/c" too."""
    first, *others = span.removeprefix("pulse ").split(" / ")
    tokens = _tokens(first)
    if tokens and "/" in tokens[-1] and len(tokens) <= 3:  # "pulse dev up/down/status"
        *head, alternatives = tokens
        return [_resolve([*head, name]) for name in alternatives.split("/")]
    command, path, rest = _resolve(tokens)
    forms = [(command, path, rest)]
    for other in others:
        forms.append(_resolve([*path[:-1], *_tokens(other)]))
    return forms


def _spans(text: str) -> list[str]:
    found = SPAN.findall(text)
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL):
        found += FENCED.findall(block)
    return [s.strip() for s in found if "<command>" not in s]


def _options(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def test_every_readme_command_and_option_exists() -> None:
    problems = []
    for span in _spans(README.read_text(encoding="utf-8")):
        for command, path, rest in _forms(span):
            if not path:
                problems.append(f"{span}: no such command")
                continue
            unknown = [t.split("=")[0] for t in rest if t.startswith("-")]
            unknown = [t for t in unknown if t not in _options(command)]
            if unknown:
                problems.append(f"{span}: `pulse {' '.join(path)}` has no {unknown}")
    assert problems == []


def test_the_command_table_names_every_required_option() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(TABLE_SECTION) :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| `pulse")]
    assert len(rows) > 20
    problems = []
    for row in rows:
        for span in SPAN.findall(row.split(" | ")[0]):
            for command, path, rest in _forms(span):
                if isinstance(command, click.Group) or not any(t.startswith("-") for t in rest):
                    continue  # a bare mention, not a usage line
                written = {t.split("=")[0] for t in rest}
                required = [p for p in command.params if isinstance(p, click.Option) and p.required]
                for param in required:
                    if not written & set(param.opts):
                        problems.append(f"pulse {' '.join(path)}: {param.opts[0]} missing")
    assert problems == []


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("pulse", *p)))
def test_every_help_works(path: tuple[str, ...]) -> None:
    shown = CliRunner().invoke(cli, [*path, "--help"])
    assert shown.exit_code == 0, shown.output
    assert "[default: ]" not in shown.output
    assert "Usage: " in shown.output
