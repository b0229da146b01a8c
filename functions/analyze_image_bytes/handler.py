"""Entry point for direct invocations carrying base64 image bytes (no S3 object)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.images.settings import ImageAnalysisSettings
from medialens.images.wiring import inline_analyzer
from medialens.shared.observability import logger, metrics, tracer


@cache
def _analyzer(
    settings: ImageAnalysisSettings,
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    return inline_analyzer(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Analyse the image in ``event["image_base64"]``; answer the outcome and analysis."""
    return _analyzer(ImageAnalysisSettings.from_env())(event)
