"""Composition root of the workflows' task functions: production adapters, once per sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from medialens.shared.s3_store import S3MediaStore
from medialens.workflows.object_lines import S3LineWriter, S3ObjectLines
from medialens.workflows.related_labels import DynamoDBRelatedLabels
from medialens.workflows.sagemaker_endpoint import SageMakerEndpointAdmin
from medialens.workflows.settings import SuggestionSettings
from medialens.workflows.transform_check import OpenSink


@dataclass(frozen=True, slots=True)
class SuggestionPorts:
    """What publishing suggestions reads and writes: mined rules, the archive, the catalog."""

    objects: S3ObjectLines
    writer: S3MediaStore
    catalog: DynamoDBRelatedLabels


@dataclass(frozen=True, slots=True)
class TransformPorts:
    """What checking a Batch Transform reads, and how it opens the combined file."""

    objects: S3ObjectLines
    open_sink: OpenSink


def suggestion_ports(settings: SuggestionSettings) -> SuggestionPorts:
    """Build the boto3-backed ports of :func:`~medialens.workflows.suggester.publish_suggestions`.

    Parameters
    ----------
    settings : SuggestionSettings

    Returns
    -------
    SuggestionPorts
    """
    return SuggestionPorts(
        objects=S3ObjectLines(),
        writer=S3MediaStore(),
        catalog=DynamoDBRelatedLabels(settings.catalog_table),
    )


def transform_ports() -> TransformPorts:
    """Build the boto3-backed ports of the Batch Transform check.

    Returns
    -------
    TransformPorts
    """
    return TransformPorts(objects=S3ObjectLines(), open_sink=S3LineWriter)


def artifact_store() -> S3MediaStore:
    """Build the store the deploy-time artifacts are read from and written to.

    Returns
    -------
    S3MediaStore
    """
    return S3MediaStore()


def endpoint_admin() -> SageMakerEndpointAdmin:
    """Build the SageMaker adapter that removes the suggester's endpoint.

    Returns
    -------
    SageMakerEndpointAdmin
    """
    return SageMakerEndpointAdmin()
