"""Entry point for Rekognition Video's completion messages (SNS) and hand-overs (SQS)."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent, SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.shared.clock import utc_now
from medialens.shared.observability import logger, metrics, tracer
from medialens.video.ports import VideoPorts
from medialens.video.results import handle_notification, resume_collection
from medialens.video.settings import VideoSettings
from medialens.video.wiring import video_ports


@cache
def _ports(settings: VideoSettings) -> VideoPorts:
    return video_ports(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Collect the results of finished jobs; count what happened to each message."""
    settings = VideoSettings.from_env()
    common: dict[str, Any] = {
        "ports": _ports(settings),
        "settings": settings,
        "remaining_ms": context.get_remaining_time_in_millis,
        "clock": utc_now,
    }
    records = event.get("Records", [])
    if records and records[0].get("EventSource") == "aws:sns":
        messages = [record.sns.message for record in SNSEvent(event).records]
        return dict(Counter(handle_notification(text, **common) for text in messages))
    bodies = [record.body for record in SQSEvent(event).records]
    return dict(Counter(resume_collection(body, **common) for body in bodies))
