"""CloudFormation custom resource: a retention for the log groups AWS services create.

Properties: ``LogGroups`` (names) and ``RetentionInDays``. On Create and Update each group
gets the retention unless it has one (:mod:`medialens.lifecycle.log_retention`); the
outcome per group is the resource's ``Outcome`` attribute. On Delete nothing changes: the
groups are the services', and their events keep the retention they were given.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from crhelper import CfnResource
from medialens.lifecycle.wiring import bound_service_log_retention
from medialens.shared.observability import logger

helper = CfnResource(json_logging=False, log_level="INFO", sleep_on_delete=0)


@helper.create
@helper.update
def apply(event: dict[str, Any], _: LambdaContext) -> str:
    """Give each named group the retention unless it has one; answer a fixed physical id."""
    properties = event["ResourceProperties"]
    outcome = bound_service_log_retention(
        properties["LogGroups"], int(properties["RetentionInDays"])
    )
    helper.Data["Outcome"] = json.dumps(outcome)
    logger.info("Service log retention", extra={"outcome": outcome})
    return "service-log-retention"


@helper.delete
def leave(event: dict[str, Any], _: LambdaContext) -> None:
    """Change nothing: the groups belong to the services, shared by the account."""


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation (crhelper sends the response, also on an exception)."""
    helper(event, context)
