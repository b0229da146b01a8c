"""The journeys' target: the offline stack by default, a deployed one with ``--stack``.

``pytest tests/e2e --stack <name>`` (``make e2e STACK=<name>``; the options are the
root conftest's) runs the journeys
against a deployed stack with the environment's AWS credentials and Region;
``--with-emr`` adds the EMR workflow, which is billed. Without ``--stack`` (as in
``make test``) they run against the offline stack, started once for this package.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.e2e.targets import DeployedTarget, Target


@pytest.fixture(scope="package")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The stack the journeys run against, for every test of this package.

    Offline, the tests' Spark session is started first when a selected test runs the
    EMR workflow (``offline_target`` says why first).
    """
    config = request.config
    stack = config.getoption("stack")
    if stack:
        yield DeployedTarget.from_stack(stack, with_emr=config.getoption("with_emr"))
        return
    from tests.e2e.offline import offline_target

    mining = any(
        "label_mining_target" in getattr(item, "fixturenames", ()) for item in request.session.items
    )
    with offline_target(spark=request.getfixturevalue("spark") if mining else None) as offline:
        yield offline


@pytest.fixture(scope="package")
def run_id() -> str:
    """This run's id: sortable by time, unique, safe in S3 keys and execution names."""
    return f"{datetime.now(UTC):%Y%m%dt%H%M%S}-{secrets.token_hex(3)}"


@pytest.fixture
def label_mining_target(target: Target, request: pytest.FixtureRequest) -> Target:
    """The target, ready to run the EMR workflow (or the test skipped)."""
    target.prepare_label_mining(request)
    return target
