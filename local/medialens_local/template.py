"""template.yaml, read once and resolved the way a local stack names its resources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Parse the SAM template (short-form intrinsics become their long form)."""
    loaded: dict[str, Any] = cfn_yaml.loads(path.read_text())
    return loaded


def supported_regions(template: Mapping[str, Any] | None = None) -> list[str]:
    """Return the Regions the template's ``SupportedRegion`` rule accepts, in its order."""
    loaded = load_template() if template is None else template
    [assertion] = loaded["Rules"]["SupportedRegion"]["Assertions"]
    regions, region_ref = assertion["Assert"]["Fn::Contains"]
    if region_ref != {"Ref": "AWS::Region"}:
        raise ValueError("SupportedRegion must test Ref AWS::Region")
    return [str(region) for region in regions]


@dataclass
class Resolver:
    """Resolves the intrinsic functions the template uses, for one local stack.

    Attributes
    ----------
    stack_name, account_id, region : str
        Pseudo parameters.
    refs : dict[str, str]
        What ``Ref`` of a resource gives (its name or ARN), filled in as resources are
        created; a parameter's ``Ref`` gives its default.
    attributes : dict[tuple[str, str], str]
        What ``Fn::GetAtt`` gives.
    parameters : dict[str, str]
        Parameter values that replace the defaults, as ``--parameter-overrides`` does.
    """

    stack_name: str
    account_id: str
    region: str
    template: Mapping[str, Any] = field(default_factory=load_template)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Name the template's IAM roles (nothing local assumes them; they are only passed)."""
        for logical_id in self.resources("AWS::IAM::Role"):
            self.attributes.setdefault(
                (logical_id, "Arn"),
                f"arn:aws:iam::{self.account_id}:role/{self.physical_name(logical_id)}",
            )

    def physical_name(self, logical_id: str) -> str:
        """Name a resource the way CloudFormation would, simplified: ``<stack>-<LogicalId>``."""
        return f"{self.stack_name}-{logical_id}"

    def ref(self, name: str) -> str:
        """Resolve ``Ref``: a pseudo parameter, a created resource, or a default."""
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.parameters:
            return self.parameters[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            return str(parameters[name].get("Default", ""))
        return self.physical_name(name)

    def condition(self, name: str) -> bool:
        """Evaluate one of the template's ``Conditions`` with the stack's parameters."""
        return self._holds(self.template["Conditions"][name])

    def _holds(self, value: Any) -> bool:
        if "Condition" in value:
            return self.condition(value["Condition"])
        if "Fn::Equals" in value:
            first, second = (self.resolve(part) for part in value["Fn::Equals"])
            return first == second
        if "Fn::Not" in value:
            return not self._holds(value["Fn::Not"][0])
        if "Fn::And" in value:
            return all(self._holds(part) for part in value["Fn::And"])
        if "Fn::Or" in value:
            return any(self._holds(part) for part in value["Fn::Or"])
        raise ValueError(f"unsupported condition in local stack: {value}")

    def resolve(self, value: Any) -> str:
        """Resolve a scalar, ``Ref``, ``Fn::Sub``, ``Fn::GetAtt``, ``Fn::FindInMap``, ``Fn::If``.

        Raises
        ------
        ValueError
            For an intrinsic function the local stack does not evaluate.
        """
        if isinstance(value, str | int | float | bool):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::Sub" in value:
            text, variables = (
                (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            )
            resolved = {name: self.resolve(variable) for name, variable in variables.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: (
                    resolved[m.group(1)] if m.group(1) in resolved else self._sub_part(m.group(1))
                ),
                text,
            )
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attributes[(logical_id, attribute)]
        if "Fn::If" in value:
            name, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(name) else when_false)
        if "Fn::FindInMap" in value:
            mapping, key, attribute = (self.resolve(part) for part in value["Fn::FindInMap"])
            return str(self.template["Mappings"][mapping][key][attribute])
        raise ValueError(f"unsupported intrinsic in local stack: {value}")

    def _sub_part(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.attributes[(logical_id, attribute)]
        return self.ref(name)

    def deployed(self, resource: Mapping[str, Any]) -> bool:
        """Whether a resource exists in this stack: it has no ``Condition``, or it holds."""
        return "Condition" not in resource or self.condition(resource["Condition"])

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        found = self.template.get("Resources", {})
        return {k: v for k, v in found.items() if v.get("Type") == kind}

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals environment merged with the function's own, resolved."""
        globals_ = self.template.get("Globals", {}).get("Function", {})
        merged = dict(globals_.get("Environment", {}).get("Variables", {}))
        own = self.template["Resources"][logical_id]["Properties"]
        merged.update(own.get("Environment", {}).get("Variables", {}))
        return {name: self.resolve(value) for name, value in merged.items()}
