"""Composition root of the video functions: production adapters, once per sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medialens.catalog.writer import DynamoDBCatalog
from medialens.shared.s3_store import S3MediaStore
from medialens.video.settings import VideoSettings

if TYPE_CHECKING:
    from medialens.video.ports import VideoPorts


def video_ports(settings: VideoSettings) -> VideoPorts:
    """Build the boto3-backed ports of the video use cases.

    Parameters
    ----------
    settings : VideoSettings

    Returns
    -------
    VideoPorts
    """
    # Imported here: the S3 entry point loads this module for every drop, and the video
    # side stays out of the images' cold start until a video arrives.
    from medialens.video.jobs import DynamoDBJobStore
    from medialens.video.ports import VideoPorts
    from medialens.video.queues import SqsOutbox
    from medialens.video.rekognition import RekognitionVideoAdapter

    return VideoPorts(
        recognizer=RekognitionVideoAdapter(),
        jobs=DynamoDBJobStore(settings.jobs_table),
        catalog=DynamoDBCatalog(settings.catalog_table),
        store=S3MediaStore(),
        continuations=SqsOutbox(settings.continuation_queue_url),
        dead_letters=SqsOutbox(settings.failures_queue_url),
    )
