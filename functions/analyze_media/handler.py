"""Entry point of the ingest queue: bucket notifications and backfill requests, paced.

Images are analysed; MP4/MOV videos start Rekognition Video jobs. The answer is SQS's
partial batch response: only the messages that failed are redelivered.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.images.settings import ImageAnalysisSettings
from medialens.ingest.messages import unsupported_invocation
from medialens.ingest.settings import IngestSettings
from medialens.ingest.wiring import IngestConsumer, ingest_consumer
from medialens.shared.observability import MetricUnit, logger, metrics, tracer
from medialens.shared.outcome import AnalysisOutcome, summarize
from medialens.video.settings import VideoSettings

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def _consumer(
    images: ImageAnalysisSettings, video: VideoSettings, ingest: IngestSettings
) -> IngestConsumer:
    """One consumer per sandbox: its pacer's buckets must outlive the invocations."""
    return ingest_consumer(images, video, ingest)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Consume one batch of the ingest queue; report the messages that failed."""
    unsupported = unsupported_invocation(event)
    if unsupported is not None:
        logger.error("Not an ingest queue batch: nothing analysed", reason=unsupported)
        metrics.add_metric(name="IngestInvocationUnsupported", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": [], "unsupported": unsupported}
    consumer = _consumer(
        ImageAnalysisSettings.from_env(), VideoSettings.from_env(), IngestSettings.from_env()
    )
    consumer.register(context)
    with processor(records=event["Records"], handler=consumer):
        processed = processor.process()
    outcomes = [
        AnalysisOutcome.from_dict(outcome)
        for status, result, _ in processed
        if status == "success"
        for outcome in result
    ]
    logger.info(
        "Ingest batch consumed",
        extra={
            **summarize(outcomes),
            "failed": len(processor.fail_messages),
            "waited_for_quota_s": round(consumer.pacer.waited_s, 3),
        },
    )
    return dict(processor.response())
