"""Composition roots of the erasure (catalog, S3, face collection) and of log retention."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.rekognition import RekognitionImageAdapter
from medialens.lifecycle.erasure import ErasurePorts, ErasureReport, forget_person
from medialens.lifecycle.log_groups import CloudWatchLogGroups
from medialens.lifecycle.log_retention import bound_retention
from medialens.lifecycle.settings import ErasureSettings
from medialens.shared.clock import utc_now
from medialens.shared.s3_store import S3MediaStore


def person_eraser(settings: ErasureSettings) -> Callable[[str], ErasureReport]:
    """Wire :func:`forget_person` to boto3.

    Returns
    -------
    Callable[[str], ErasureReport]
        Takes a person id, erases it, answers the report.
    """
    ports = ErasurePorts(
        catalog=DynamoDBCatalog(settings.catalog_table),
        store=S3MediaStore(),
        faces=RekognitionImageAdapter(),
    )
    return functools.partial(forget_person, ports=ports, settings=settings, now=utc_now)


def bound_service_log_retention(names: Iterable[str], days: int) -> dict[str, str]:
    """Run :func:`bound_retention` against CloudWatch Logs."""
    return bound_retention(names, days, CloudWatchLogGroups())
