"""The template's Rules refuse exactly the values AWS or the stack cannot work with."""

from __future__ import annotations

import re
from typing import Any

import pytest
from medialens_local.template import supported_regions

from tests.contract.test_regions import commercial_regions
from tests.support.rules import refusals
from tests.support.stack import template

# The prefixes the stack writes under (see the IAM statements that grant s3:PutObject).
WRITTEN_PREFIXES = [
    "results/",
    "jobs/",
    "models/",
    "exports/",
    "mining/",
    "transforms/",
    "emr-logs/",
    "emr-tls/",
]


def parameters(**overrides: Any) -> dict[str, str]:
    """Every parameter at its default (the one without becomes a plausible id), as text."""
    values = {
        name: str(declared.get("Default", "subnet-0123456789abcdef0"))
        for name, declared in template()["Parameters"].items()
    }
    values["AWS::Region"] = "eu-west-1"
    values.update({name: str(value) for name, value in overrides.items()})
    return values


def refused(**overrides: Any) -> list[str]:
    return refusals(template()["Rules"], parameters(**overrides))


def test_the_defaults_pass() -> None:
    assert refused() == []


def test_every_concurrency_and_payload_passes_exactly_when_their_product_is_at_most_100() -> None:
    declared = template()["Parameters"]
    concurrencies = range(1, int(declared["TransformMaxConcurrent"]["MaxValue"]) + 1)
    payloads = range(1, int(declared["TransformMaxPayloadInMB"]["MaxValue"]) + 1)
    for concurrent in concurrencies:
        for payload in payloads:
            failures = refused(TransformMaxConcurrent=concurrent, TransformMaxPayloadInMB=payload)
            assert (failures == []) == (concurrent * payload <= 100), (concurrent, payload)


def test_a_refused_transform_setting_says_which_limit() -> None:
    [message] = refused(TransformMaxConcurrent=16, TransformMaxPayloadInMB=100)
    assert "may not exceed 100" in message
    assert "at most 1 concurrent request" in message


@pytest.mark.parametrize("region", commercial_regions())
def test_only_supported_regions_pass(region: str) -> None:
    failures = refused(**{"AWS::Region": region})
    if region in supported_regions():
        assert failures == []
    else:
        [message] = failures
        assert "Lex V2" in message


def test_the_watched_prefixes_must_differ() -> None:
    assert refused(UploadsPrefix="media/", FacesPrefix="media/") == [
        "UploadsPrefix and FacesPrefix must be different folders."
    ]


@pytest.mark.parametrize("prefix", WRITTEN_PREFIXES)
def test_neither_watched_prefix_may_be_one_the_stack_writes(prefix: str) -> None:
    assert len(refused(UploadsPrefix=prefix)) == 1
    assert len(refused(FacesPrefix=prefix)) == 1


def test_the_rules_know_every_prefix_the_template_grants_writes_under() -> None:
    granted = set(re.findall(r"-\$\{AWS::Region\}/([a-z-]+/)", str(template()["Resources"])))
    assert granted - {"uploads/", "faces/"} <= set(WRITTEN_PREFIXES)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("uploads/", True),
        ("camera_roll-2/", True),
        ("uploads/faces/", False),
        ("uploads", False),
        ("/uploads/", False),
        ("../", False),
        ("./", False),
        ("up loads/", False),
    ],
)
def test_a_watched_prefix_is_one_folder(value: str, accepted: bool) -> None:
    for name in ("UploadsPrefix", "FacesPrefix"):
        pattern = template()["Parameters"][name]["AllowedPattern"]
        assert bool(re.fullmatch(pattern, value)) is accepted, (name, value)
