"""CloudFormation custom resource: put what the EMR workflow reads in S3, at deploy time.

``bundle/`` holds ``jobs/label_mining.py``, ``jobs/emr_bootstrap.sh`` and
``jobs/requirements-emr.txt``, copied in by ``sam build``; each is published under its
content's key. A self-signed TLS certificate for EMR's in-transit encryption is written
to ``<TlsPrefix>certificates.zip`` on Create, and renewed by an Update when it nears
expiry (:func:`medialens.workflows.tls.current_or_new`). The resource's
physical id is the job script's ``s3://`` URI. Nothing is ever deleted (see :func:`keep`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from crhelper import CfnResource
from medialens.shared.observability import logger
from medialens.workflows.artifacts import Artifact, ArtifactTarget, publish_workflow_artifacts
from medialens.workflows.settings import ArtifactSettings
from medialens.workflows.wiring import artifact_store

BUNDLE = Path(__file__).with_name("bundle")
JOB_SCRIPT = BUNDLE / "label_mining.py"
BOOTSTRAP_SCRIPT = BUNDLE / "emr_bootstrap.sh"
REQUIREMENTS = BUNDLE / "requirements-emr.txt"

# No 120 s pause on delete (crhelper's default, for log delivery): the function logs
# through its own log group, which outlives the resource.
helper = CfnResource(json_logging=False, log_level="INFO", sleep_on_delete=0)


def _artifact(path: Path) -> Artifact:
    return Artifact(path.name, path.read_bytes())


@helper.create
@helper.update
def publish(event: dict[str, Any], _: LambdaContext) -> str:
    """Upload the job's files under their content's keys, and TLS certificates when due."""
    store = artifact_store()
    published = publish_workflow_artifacts(
        job_script=_artifact(JOB_SCRIPT),
        bootstrap_script=_artifact(BOOTSTRAP_SCRIPT),
        requirements=_artifact(REQUIREMENTS),
        target=ArtifactTarget.from_properties(event["ResourceProperties"]),
        region=ArtifactSettings.from_env().region,
        now=datetime.now(UTC),
        writer=store,
        reader=store,
    )
    helper.Data.update(published.attributes())
    logger.info(
        "Workflow artifacts published",
        extra={**published.attributes(), "tls_renewed": published.tls_certificates_renewed},
    )
    return published.job_script_uri


@helper.delete
def keep(event: dict[str, Any], _: LambdaContext) -> None:
    """Leave every published object in place (after an update, or with the stack).

    An execution started before the deploy may still be waiting for its cluster and
    read these scripts later; they are a few kB, and their keys are their content's.
    The certificates' key is fixed: when the physical id changes (a new job script) or
    the resource is replaced, CloudFormation deletes the old one after the new one has
    written its zip under that key, so deleting it would leave EMR's security
    configuration pointing at nothing.
    """
    logger.info("Workflow artifacts kept", extra={"uri": event.get("PhysicalResourceId")})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    """Answer CloudFormation (crhelper sends the response, also on an exception)."""
    helper(event, context)
