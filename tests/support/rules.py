"""Evaluate a template's ``Rules`` as CloudFormation does before a create or update.

Hand-written: no library evaluates CloudFormation rules (cfn-lint checks their shape,
not their outcome). The rule functions are those of the Template Reference's "Rule
functions" page; parameter values are strings there, as ``Ref`` makes them everywhere
else. An unknown function raises rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class UnknownRuleFunctionError(ValueError):
    """The rule uses a function this evaluator does not know."""


def _value(node: Any, parameters: Mapping[str, str]) -> Any:
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return parameters[node["Ref"]]
    if isinstance(node, list):
        return [_value(item, parameters) for item in node]
    if isinstance(node, dict):
        return holds(node, parameters)
    return str(node)


def holds(condition: Mapping[str, Any], parameters: Mapping[str, str]) -> bool:
    """Whether a rule condition or assertion is true for these parameter values."""
    [(function, arguments)] = condition.items()
    values = [_value(argument, parameters) for argument in arguments]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    if function == "Fn::Not":
        [value] = values
        return not value
    if function == "Fn::Equals":
        left, right = values
        return bool(left == right)
    if function == "Fn::Contains":
        candidates, value = values
        return value in candidates
    if function == "Fn::EachMemberIn":
        checked, allowed = values
        return all(item in allowed for item in checked)
    if function == "Fn::EachMemberEquals":
        checked, expected = values
        return all(item == expected for item in checked)
    raise UnknownRuleFunctionError(function)


def refusals(rules: Mapping[str, Any], parameters: Mapping[str, str]) -> list[str]:
    """The descriptions of every assertion that fails, for rules whose condition holds."""
    failed = []
    for rule in rules.values():
        condition = rule.get("RuleCondition")
        if condition is not None and not holds(condition, parameters):
            continue
        for assertion in rule["Assertions"]:
            if not holds(assertion["Assert"], parameters):
                failed.append(str(assertion.get("AssertDescription", "")))
    return failed
