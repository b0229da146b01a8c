"""Step Functions task: check a Batch Transform's outputs against its inputs."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.shared.observability import logger, metrics, tracer
from medialens.workflows.transform_check import verify_transform
from medialens.workflows.wiring import TransformPorts, transform_ports


@cache
def _ports() -> TransformPorts:
    return transform_ports()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check, and combine where asked; answer with counts and problems.

    The event is ``{"input_uri": "s3://.../", "output_uri": "s3://.../",
    "combine_uri": "s3://.../combined.jsonl" or null}``; without ``combine_uri`` (or with
    null) nothing is written.
    """
    try:
        ports = _ports()
        summary = verify_transform(
            str(event["input_uri"]),
            str(event["output_uri"]),
            ports.objects,
            combine_uri=event.get("combine_uri"),
            open_sink=ports.open_sink,
        )
    except Exception as error:
        # A malformed event, a URI that is not s3://, or an AWS error: the task fails.
        logger.error(
            "Transform not verified", extra={"reason": f"{type(error).__name__}: {error!r}"}
        )
        metrics.add_metric(name="TransformVerificationErrors", unit=MetricUnit.Count, value=1)
        raise
    report = summary.to_dict()
    if summary.ok:
        logger.info("Transform verified", extra=report)
    else:
        logger.warning("Transform outputs do not match their inputs", extra=report)
        metrics.add_metric(name="TransformOutputMismatches", unit=MetricUnit.Count, value=1)
    return report
