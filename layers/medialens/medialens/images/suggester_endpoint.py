"""The label suggester's SageMaker endpoint, asked once per analysed image.

The request is one catalog record as the Batch Transform sends it (one JSON line,
``{"labels": [{"name", "confidence"}]}``), answered by the same
``sagemaker_models/label_suggester/code/inference.py``: one JSON line,
``{"suggestions": [{"label", "confidence", "because"}]}`` or ``{"error": ...}``.

Every way the endpoint can fail becomes a :class:`SuggestionsUnavailableError` with a
reason; the errors are InvokeEndpoint's in SageMaker's API Reference
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html)
and botocore's ``sagemaker-runtime`` model, which tests/contract holds these names to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from medialens.images.models import Label, SuggestedLabel
from medialens.shared.aws import sagemaker_runtime_client
from medialens.shared.errors import SuggestionsUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

JSON_LINES = "application/jsonlines"
"""What the inference code reads and answers (its ``JSON_LINES``)."""

REASONS = {
    # 429: "Either a serverless endpoint variant's resources are still being provisioned,
    # or a multi-model endpoint is still downloading or loading the target model."
    "ModelNotReadyException": "cold",
    # Serverless endpoints answer it past their MaxConcurrency.
    "ThrottlingException": "throttled",
    "ServiceUnavailable": "failing",
    "InternalFailure": "failing",
    "InternalDependencyException": "failing",
    "InternalStreamFailure": "failing",
    # 424: the container answered an error (inference.py raised).
    "ModelError": "model_error",
}
"""InvokeEndpoint's error codes by the reason recorded; a ValidationError naming no
endpoint is ``missing``, any other is ``refused``."""


class SageMakerLabelSuggester:
    """Asks the suggester's endpoint what an image's labels lead to.

    Parameters
    ----------
    endpoint_name : str
        The endpoint the pipeline deploys the trained suggester to.
    timeout_s : float
        Longest wait for an answer; a cold serverless endpoint takes longer and is then
        skipped as ``timeout``.
    client : SageMakerRuntimeClient, optional
    """

    def __init__(
        self, endpoint_name: str, *, timeout_s: float, client: SageMakerRuntimeClient | None = None
    ) -> None:
        self._endpoint = endpoint_name
        self._client = client or sagemaker_runtime_client(timeout_s)

    def suggest(self, labels: Sequence[Label]) -> tuple[SuggestedLabel, ...]:
        """InvokeEndpoint with the labels as one record; its suggestions, best first.

        Raises
        ------
        SuggestionsUnavailableError
            With the reason, for any error of the call or an answer that is not the
            inference code's.
        """
        record = {
            "labels": [{"name": label.name, "confidence": label.confidence} for label in labels]
        }
        try:
            response = self._client.invoke_endpoint(
                EndpointName=self._endpoint,
                Body=json.dumps(record, separators=(",", ":")).encode(),
                ContentType=JSON_LINES,
                Accept=JSON_LINES,
            )
            answer = response["Body"].read()
        except ClientError as error:
            raise _unavailable(error) from error
        except (ReadTimeoutError, ConnectTimeoutError) as error:
            raise SuggestionsUnavailableError("timeout", str(error)) from error
        except EndpointConnectionError as error:
            raise SuggestionsUnavailableError("unreachable", str(error)) from error
        except BotoCoreError as error:
            raise SuggestionsUnavailableError("unreachable", str(error)) from error
        return parse_answer(answer)


def _unavailable(error: ClientError) -> SuggestionsUnavailableError:
    details: Any = error.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    if code == "ValidationError":
        # "Endpoint <name> of account <id> not found." is how a missing endpoint answers.
        reason = "missing" if "not found" in message.lower() else "refused"
    else:
        reason = REASONS.get(code, "failing")
    return SuggestionsUnavailableError(reason, f"{code}: {message}")


def parse_answer(answer: bytes) -> tuple[SuggestedLabel, ...]:
    """Read the inference code's one JSON line.

    Raises
    ------
    SuggestionsUnavailableError
        ``model_error`` for an error line or anything that is not the inference code's
        answer.
    """
    try:
        lines = [line for line in answer.decode().splitlines() if line.strip()]
        document: Any = (
            json.loads(lines[0]) if len(lines) == 1 else {"error": f"{len(lines)} lines"}
        )
        suggestions = None if "error" in document else document["suggestions"]
        if suggestions is not None:
            return tuple(
                SuggestedLabel(str(s["label"]), float(s["confidence"]), str(s["because"]))
                for s in suggestions
            )
        problem = str(document["error"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        problem = f"{type(error).__name__}: {error}"
    raise SuggestionsUnavailableError("model_error", f"{problem}: {answer[:200]!r}")
