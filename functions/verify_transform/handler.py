"""Step Functions task: check a Batch Transform's outputs against its inputs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.adapters.object_lines import S3LineWriter, S3ObjectLines
from medialens.domain.transform_check import verify_transform
from medialens.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check, and combine where asked; answer with counts and problems.

    The event is ``{"input_uri": "s3://.../", "output_uri": "s3://.../",
    "combine_uri": "s3://.../combined.jsonl" or null}``; without ``combine_uri`` (or with
    null) nothing is written.
    """
    summary = verify_transform(
        event["input_uri"],
        event["output_uri"],
        S3ObjectLines(),
        combine_uri=event.get("combine_uri"),
        open_sink=S3LineWriter,
    )
    logger.info("Transform verified", extra=summary.to_dict())
    return summary.to_dict()
