"""Each function gets the variables its settings read, and no other (template <-> code).

A handler's settings are the ``*Settings`` classes whose ``from_env`` it calls; each class
says which variables the template must set (``VARIABLES``) and which it reads only when
someone sets them (``TUNABLES``). Powertools' variables are the only Globals.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from medialens.shared.observability import POWERTOOLS_VARIABLES

from tests.support.stack import ROOT, function_environment, resource, template

# Modules that talk to AWS: a handler reaches them only through its feature's wiring.
ADAPTERS = {
    "medialens.shared.aws",
    "medialens.shared.s3_store",
    "medialens.catalog.writer",
    "medialens.catalog.search",
    "medialens.images.rekognition",
    "medialens.images.alerts",
    "medialens.images.idempotency",
    "medialens.video.rekognition",
    "medialens.video.jobs",
    "medialens.video.queues",
    "medialens.workflows.object_lines",
    "medialens.workflows.related_labels",
    "medialens.lifecycle.log_groups",
}


def functions() -> dict[str, str]:
    resources = template()["Resources"]
    return {
        name: body["Properties"]["CodeUri"]
        for name, body in resources.items()
        if body["Type"] == "AWS::Serverless::Function"
    }


def handler_tree(function: str) -> ast.Module:
    return ast.parse((ROOT / functions()[function] / "handler.py").read_text())


def settings_of(function: str) -> list[type[Any]]:
    """The settings classes whose ``from_env`` the function's handler calls."""
    tree = handler_tree(function)
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    called = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "from_env"
        and isinstance(node.value, ast.Name)
    }
    return [getattr(importlib.import_module(imported[name]), name) for name in sorted(called)]


def own_variables(function: str) -> set[str]:
    variables = resource(function)["Properties"].get("Environment", {}).get("Variables", {})
    return set(variables)


@pytest.mark.parametrize("function", sorted(functions()))
def test_the_template_sets_every_variable_the_settings_need(function: str) -> None:
    needed = set().union(*(cls.VARIABLES for cls in settings_of(function)))
    assert needed <= own_variables(function)


@pytest.mark.parametrize("function", sorted(functions()))
def test_the_template_sets_no_variable_the_function_does_not_read(function: str) -> None:
    readable = set().union(*(cls.VARIABLES | cls.TUNABLES for cls in settings_of(function)))
    assert own_variables(function) <= readable


def test_the_globals_hold_only_what_powertools_reads() -> None:
    globals_ = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert set(globals_) == POWERTOOLS_VARIABLES


def test_the_chatbot_no_longer_receives_the_video_role() -> None:
    assert "VIDEO_ROLE_ARN" not in function_environment({}, "ChatbotFunction")


class Recording(Mapping[str, str]):
    """The function's resolved environment, remembering every name asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.asked.add(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@pytest.mark.parametrize(
    ("function", "settings"),
    [(f, cls) for f in sorted(functions()) for cls in settings_of(f)],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_settings_read_exactly_the_variables_they_declare(
    function: str, settings: type[Any]
) -> None:
    environment = Recording(function_environment({}, function) | {"AWS_REGION": "eu-west-1"})
    settings.from_env(environment)
    declared = settings.VARIABLES | settings.TUNABLES | settings.LAMBDA_RUNTIME
    assert environment.asked == declared


@pytest.mark.parametrize("function", sorted(functions()))
def test_handlers_reach_aws_only_through_their_wiring(function: str) -> None:
    tree = handler_tree(function)
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & (ADAPTERS | {"boto3", "os"})
