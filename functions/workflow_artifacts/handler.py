"""CloudFormation custom resource: put the Spark job where EMR reads it, at deploy time.

``bundle/label_mining.py`` is ``jobs/label_mining.py``, copied in by ``sam build``. The
resource's physical id is the script's ``s3://`` URI; ``JobScriptUri`` is its attribute.
Scripts are never deleted (see :func:`keep`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from crhelper import CfnResource
from medialens.adapters.s3_store import S3MediaStore
from medialens.domain.artifacts import publish_artifact
from medialens.observability import logger

JOB_SCRIPT = Path(__file__).with_name("bundle") / "label_mining.py"

# No 120 s pause on delete (crhelper's default, for log delivery): the function logs
# through its own log group, which outlives the resource.
helper = CfnResource(json_logging=False, log_level="INFO", sleep_on_delete=0)


def _target(event: dict[str, Any]) -> tuple[str, str]:
    properties = event["ResourceProperties"]
    return str(properties["Bucket"]), str(properties.get("Prefix", "jobs/"))


@helper.create
@helper.update
def publish(event: dict[str, Any], _: LambdaContext) -> str:
    """Upload the job script under its content's key."""
    bucket, prefix = _target(event)
    uri = publish_artifact(
        JOB_SCRIPT.read_bytes(),
        name=JOB_SCRIPT.name,
        bucket=bucket,
        prefix=prefix,
        writer=S3MediaStore(),
    )
    helper.Data["JobScriptUri"] = uri
    logger.info("Job script published", extra={"uri": uri})
    return uri


@helper.delete
def keep(event: dict[str, Any], _: LambdaContext) -> None:
    """Leave the script in place (after an update, or with the stack).

    An execution started before the deploy may still be waiting for its cluster and
    read this script later; a script is a few kB, and its key is its content's.
    """
    logger.info("Job script kept", extra={"uri": event.get("PhysicalResourceId")})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation (crhelper sends the response, also on an exception)."""
    helper(event, context)
