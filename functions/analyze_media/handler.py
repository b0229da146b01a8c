"""Entry point for S3 ObjectCreated notifications under the uploads and faces prefixes.

Images are analysed at once; MP4/MOV videos start Rekognition Video jobs.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.images.settings import ImageAnalysisSettings
from medialens.images.wiring import S3Analyzer, s3_analyzer
from medialens.shared.media import MediaObject
from medialens.shared.observability import logger, metrics, tracer
from medialens.shared.outcome import summarize
from medialens.video.settings import VideoSettings


@cache
def _analyzer(settings: ImageAnalysisSettings, video: VideoSettings) -> S3Analyzer:
    return s3_analyzer(settings, video=video)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, int]:
    """Analyse or start the analysis of every object the notification names; count outcomes."""
    analyzer = _analyzer(ImageAnalysisSettings.from_env(), VideoSettings.from_env())
    analyzer.register(context)
    return summarize(analyzer(MediaObject.from_s3_record(record)) for record in event.records)
