"""The only Logger, Tracer and Metrics instances of medialens.

Service name and metrics namespace come from the standard Powertools environment
variables (``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``) set in
``template.yaml``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

POWERTOOLS_VARIABLES = frozenset(
    {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
)
"""What every function's Powertools reads: template.yaml's Globals set these, and only these
(Powertools' "Environment variables" table, https://docs.powertools.aws.dev/lambda/python/latest/#environment-variables)."""

logger = Logger()
# Only the AWS SDK makes calls worth a subsegment; patching every module the X-Ray SDK
# knows (requests, httplib, sqlite3, ...) imports them all at cold start.
tracer = Tracer(patch_modules=("boto3", "botocore"))
metrics = Metrics()

__all__ = ["POWERTOOLS_VARIABLES", "MetricUnit", "logger", "metrics", "tracer"]
