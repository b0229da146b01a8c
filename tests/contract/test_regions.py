"""The Regions the template accepts are the Regions where everything it deploys exists.

Two sources are consulted, both shipped with the tools rather than copied here:
cfn-lint's per-Region CloudFormation schemas (which resource types a Region offers) and
botocore's endpoint data (which services a Region offers). cfn-lint has no schema file
for some Regions and then falls back to us-east-1's, so neither source is enough alone.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import boto3
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from medialens_local.template import load_template, supported_regions
from samtranslator.translator.transform import transform

from tests.support.stack import template

# IAM action prefixes whose botocore service name differs; IAM itself is global.
BOTOCORE_NAMES = {"elasticmapreduce": "emr", "states": "stepfunctions", "lex": "lexv2-runtime"}
GLOBAL_SERVICES = {"iam", "sts"}
# Reached by users and by `make e2e`, not by the stack's own roles.
CALLED_BY_USERS = {"lexv2-runtime", "lexv2-models", "sagemaker-runtime"}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@cache
def deployed_template() -> dict[str, Any]:
    """template.yaml as CloudFormation receives it: SAM's transform applied."""
    packaged = copy.deepcopy(load_template())
    for resource in packaged["Resources"].values():
        for uri in ("CodeUri", "ContentUri", "DefinitionUri"):
            if uri in resource.get("Properties", {}):
                resource["Properties"][uri] = "s3://packaged/artifact.zip"
    transformed: dict[str, Any] = transform(packaged, {}, _NoManagedPolicies())
    return transformed


def resource_types() -> set[str]:
    return {
        resource["Type"]
        for resource in deployed_template()["Resources"].values()
        if not resource["Type"].startswith("Custom::")
    }


def iam_actions(value: Any) -> set[str]:
    """Every ``Action`` of every policy statement anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Action":
                found |= {item} if isinstance(item, str) else set(item)
            else:
                found |= iam_actions(item)
    elif isinstance(value, list):
        for item in value:
            found |= iam_actions(item)
    return found


@cache
def services() -> frozenset[str]:
    prefixes = {action.split(":", 1)[0] for action in iam_actions(deployed_template())}
    named = {BOTOCORE_NAMES.get(prefix, prefix) for prefix in prefixes} - GLOBAL_SERVICES
    return frozenset(named | CALLED_BY_USERS)


@cache
def regions_of(service: str) -> frozenset[str]:
    """The commercial Regions botocore's endpoint data lists for ``service``."""
    return frozenset(boto3.session.Session().get_available_regions(service, partition_name="aws"))


def commercial_regions() -> list[str]:
    return sorted(regions_of("s3"))


def offers_everything(region: str) -> bool:
    types = set(PROVIDER_SCHEMA_MANAGER.get_resource_types(region=region))
    endpoints = all(region in regions_of(service) for service in services())
    return resource_types() <= types and endpoints


def test_sam_keeps_the_rules() -> None:
    assert deployed_template()["Rules"] == template()["Rules"]


def test_the_stack_uses_lex_rekognition_emr_and_sagemaker() -> None:
    """The check below covers the narrow services: they are among those it looks at."""
    assert {"lexv2-models", "rekognition", "emr", "sagemaker", "stepfunctions"} <= services()
    assert {"AWS::Lex::Bot", "AWS::Rekognition::Collection"} <= resource_types()


def test_supported_regions_are_exactly_those_that_offer_everything() -> None:
    offering = [region for region in commercial_regions() if offers_everything(region)]

    assert sorted(supported_regions()) == offering


@pytest.mark.parametrize("region", ["eu-north-1", "us-east-2", "me-south-1", "sa-east-1"])
def test_regions_the_review_named_lack_something(region: str) -> None:
    assert not offers_everything(region)
    assert region not in supported_regions()


def test_every_supported_region_has_a_scikit_learn_image_account() -> None:
    accounts = template()["Mappings"]["SklearnImageAccounts"]
    assert sorted(accounts) == sorted(supported_regions())
    assert all(re.fullmatch(r"\d{12}", entry["Account"]) for entry in accounts.values())


def test_the_refusal_names_every_supported_region() -> None:
    [assertion] = template()["Rules"]["SupportedRegion"]["Assertions"]
    description = assertion["AssertDescription"]
    assert all(region in description for region in supported_regions())
