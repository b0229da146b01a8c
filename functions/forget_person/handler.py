"""Entry point of ``make forget``: erase everything about one person id.

Invoked directly with ``{"person_id": "<id>"}``; answers what was erased. The person id
is never logged: the report and the audit record carry its SHA-256.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.lifecycle.erasure import ErasureReport, InvalidPersonIdError
from medialens.lifecycle.settings import ErasureSettings
from medialens.lifecycle.wiring import person_eraser
from medialens.shared.observability import MetricUnit, logger, metrics, tracer


@cache
def _eraser(settings: ErasureSettings) -> Callable[[str], ErasureReport]:
    return person_eraser(settings)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Erase ``event["person_id"]``; answer the report, or the reason nothing was erased."""
    person_id = event.get("person_id") if isinstance(event, Mapping) else None
    try:
        report = _eraser(ErasureSettings.from_env())(
            person_id if isinstance(person_id, str) else ""
        )
    except InvalidPersonIdError as error:
        logger.error("Erasure refused: not a person id")
        metrics.add_metric(name="ErasureRefused", unit=MetricUnit.Count, value=1)
        return {"erased": False, "error": str(error)}
    return {"erased": True, **report.to_dict()}
