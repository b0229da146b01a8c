"""CloudFormation custom resource: put the web chat's page in its bucket at deploy time.

``bundle/`` links to the page's files in the repository's ``web/`` (``sam build`` copies
them in); the resource's ``Config`` becomes the page's ``config.json``. Deleting the
resource empties the bucket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from crhelper import CfnResource
from medialens.shared.observability import logger
from medialens.webchat.s3_site import S3SiteStore
from medialens.webchat.site import config_file, page_files, publish_site, remove_site

SITE = Path(__file__).with_name("bundle")

helper = CfnResource(json_logging=False, log_level="INFO", sleep_on_delete=0)


@helper.create
@helper.update
def publish(event: dict[str, Any], _: LambdaContext) -> str:
    """Write the page and its config.json; the physical id is the bucket's name."""
    properties = event["ResourceProperties"]
    bucket = properties["Bucket"]
    written = publish_site(page_files(SITE), config_file(properties["Config"]), S3SiteStore(bucket))
    logger.info("Web chat published", extra={"bucket": bucket, "keys": written})
    return str(bucket)


@helper.delete
def remove(event: dict[str, Any], _: LambdaContext) -> None:
    """Empty the bucket when the resource goes, unless it moved to another bucket."""
    bucket = event["ResourceProperties"]["Bucket"]
    if event.get("PhysicalResourceId") != bucket:
        return
    remove_site(S3SiteStore(bucket))
    logger.info("Web chat removed", extra={"bucket": bucket})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation (crhelper sends the response, also on an exception)."""
    helper(event, context)
