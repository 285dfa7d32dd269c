"""The README's first screen is the way in, and what it shows must work as written: its
GraphQL documents validate against the served schema, and every command, make target and
file it names exists."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from graphql import GraphQLSchema, parse, validate

from gateway.app import build_gateway
from gateway.cli import app as cli
from gateway.settings import load_settings
from sandboxes.harness.processes import DEMO_CONFIG, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN = README[: README.index("\n## ", README.index("\n## ") + 1)]
GRAPHQL_BLOCKS = re.findall(r"```graphql\n(.*?)```", README, re.DOTALL)
MAKE_TARGETS = sorted(set(re.findall(r"\bmake ([a-z][\w-]*)", README)))
# Commands as written in code blocks and code spans (prose says "psgraph at real systems").
CODE = "\n".join(
    block or span for block, span in re.findall(r"```\w*\n(.*?)```|`([^`\n]+)`", README, re.DOTALL)
)
PSGRAPH_COMMANDS = sorted(set(re.findall(r"(?:^|[\s/])psgraph ([a-z][\w-]*)", CODE, re.MULTILINE)))
REPO_FILES = sorted(set(re.findall(r"`((?:config|docs|scripts|\.ci)/[\w./-]+)`", README)))


@pytest.fixture(scope="module")
def schema() -> Iterator[GraphQLSchema]:
    gateway = build_gateway(load_settings(DEMO_CONFIG))
    try:
        yield gateway.schema._schema
    finally:
        asyncio.run(gateway.aclose())


def test_the_first_screen_shows_the_two_commands_graphiql_a_mutation_and_real_systems() -> None:
    for wanted in (
        "make demo",
        "make test",
        "http://127.0.0.1:8000/graphql",
        "make win-deal",
        "startProjectFromOpportunity",
        "config/example-vendors.yaml",
    ):
        assert wanted in FIRST_SCREEN, f"the README's first screen does not show {wanted!r}"


def test_the_readme_shows_graphql_documents() -> None:
    assert len(GRAPHQL_BLOCKS) >= 4


@pytest.mark.parametrize("document", GRAPHQL_BLOCKS, ids=lambda d: d.split("{")[0].strip())
def test_every_graphql_document_validates_against_the_schema(
    document: str, schema: GraphQLSchema
) -> None:
    errors = validate(schema, parse(document))
    assert not errors, [error.message for error in errors]


def makefile_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))


@pytest.mark.parametrize("target", MAKE_TARGETS)
def test_every_make_target_named_exists(target: str) -> None:
    assert target in makefile_targets()


def test_the_readme_names_the_make_targets_it_promises() -> None:
    assert {"demo", "test", "win-deal", "lint", "ci"} <= set(MAKE_TARGETS)


@pytest.mark.parametrize("command", PSGRAPH_COMMANDS)
def test_every_psgraph_command_named_exists(command: str) -> None:
    commands = typer.main.get_command(cli).commands  # type: ignore[attr-defined]
    assert command in commands


@pytest.mark.parametrize("name", REPO_FILES)
def test_every_file_named_exists(name: str) -> None:
    assert (ROOT / name).exists()


def test_the_demo_config_the_readme_runs_exists() -> None:
    assert Path(DEMO_CONFIG).is_file()
    assert "config/demo.yaml" in README
