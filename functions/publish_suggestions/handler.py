"""Step Functions task: train the label suggester from the mined rules and publish it.

The archive goes where the Batch Transform's CreateModel reads it; the suggestions go
into the catalog for the chatbot. ``bundle/inference.py`` is the model's inference code
(``sagemaker_models/label_suggester/code/inference.py``, copied in by ``sam build``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.shared.observability import logger, metrics, tracer
from medialens.workflows.settings import SuggestionSettings
from medialens.workflows.suggester import Thresholds, publish_suggestions
from medialens.workflows.wiring import SuggestionPorts, suggestion_ports

INFERENCE_CODE = Path(__file__).with_name("bundle") / "inference.py"


@cache
def _ports() -> SuggestionPorts:
    return suggestion_ports(SuggestionSettings.from_env())


class BadRequestError(ValueError):
    """The task's input is not what the pipeline sends."""


def _request(event: dict[str, Any]) -> tuple[str, str, str, Thresholds]:
    uris = [event.get(name) for name in ("related_uri", "model_data_url", "run")]
    given = event.get("thresholds") or {}
    fields = set(Thresholds.__dataclass_fields__)
    if not all(isinstance(u, str) for u in uris) or not isinstance(given, dict):
        raise BadRequestError("needs related_uri, model_data_url and run as strings")
    if set(given) - fields:
        raise BadRequestError(f"thresholds may set only {sorted(fields)}")
    defaults = Thresholds()
    try:
        thresholds = Thresholds(
            **{name: type(getattr(defaults, name))(value) for name, value in given.items()}
        )
    except (TypeError, ValueError) as error:
        raise BadRequestError(f"thresholds: {error}") from error
    related_uri, model_data_url, run = (str(u) for u in uris)
    return related_uri, model_data_url, run, thresholds


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``{"related_uri", "model_data_url", "run", "thresholds"?}`` -> what was published.

    Raises
    ------
    BadRequestError, MalformedRulesError, NothingToSuggestError, ValueError
        Found before anything is written; the workflow's Catch sees them by name.
    Exception
        An AWS error; the archive may be written and the catalog part-way replaced.
        A rerun replaces both.
    """
    try:
        related_uri, model_data_url, run, thresholds = _request(event)
        ports = _ports()
        published = publish_suggestions(
            related_uri,
            model_data_url,
            run=run,
            inference_code=INFERENCE_CODE.read_bytes(),
            objects=ports.objects,
            writer=ports.writer,
            catalog=ports.catalog,
            thresholds=thresholds,
        )
    except Exception as error:
        # A bad request, malformed rules, nothing to suggest, or an AWS error: the task
        # fails with it, logged and counted.
        logger.error(
            "Suggestions not published", extra={"reason": f"{type(error).__name__}: {error}"}
        )
        metrics.add_metric(name="SuggestionsNotPublished", unit=MetricUnit.Count, value=1)
        raise
    logger.info("Suggestions published", extra=published.to_dict())
    metrics.add_metric(
        name="LabelsWithSuggestions", unit=MetricUnit.Count, value=published.labels_suggested
    )
    return published.to_dict()
