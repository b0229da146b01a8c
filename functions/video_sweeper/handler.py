"""Scheduled entry point: time out silent video jobs and start parked ones."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.shared.clock import utc_now
from medialens.shared.observability import logger, metrics, tracer
from medialens.video.ports import VideoPorts
from medialens.video.settings import VideoSettings
from medialens.video.sweep import sweep
from medialens.video.wiring import video_ports


@cache
def _ports(settings: VideoSettings) -> VideoPorts:
    return video_ports(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Sweep the jobs table once (the EventBridge schedule's payload is not used)."""
    settings = VideoSettings.from_env()
    summary = sweep(ports=_ports(settings), settings=settings, now=utc_now())
    return asdict(summary)
