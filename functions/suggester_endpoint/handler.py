"""CloudFormation custom resource: the label suggester's endpoint goes with the stack.

Properties: ``EndpointName`` and ``Hosting``. Create changes nothing (the ML pipeline
creates the endpoint with its first model). Delete, and an Update that changes the
hosting kind, delete the endpoint, its configuration and its model
(:mod:`medialens.workflows.endpoint`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from crhelper import CfnResource
from medialens.shared.observability import logger
from medialens.workflows.endpoint import removal_needed, remove_endpoint
from medialens.workflows.wiring import endpoint_admin

helper = CfnResource(json_logging=False, log_level="INFO", sleep_on_delete=0)


@helper.create
@helper.update
@helper.delete
def apply(event: dict[str, Any], _: LambdaContext) -> str:
    """Remove the endpoint when the request calls for it; the physical id is its name."""
    properties = event["ResourceProperties"]
    name = str(properties["EndpointName"])
    old = event.get("OldResourceProperties", {}).get("Hosting")
    if removal_needed(event["RequestType"], old, str(properties["Hosting"])):
        removal = remove_endpoint(name, endpoint_admin())
        logger.info("Suggester endpoint removed", extra=removal.to_dict())
    return name


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation (crhelper sends the response, also on an exception)."""
    helper(event, context)
