"""SageMaker Runtime's InvokeEndpoint on this machine, answered by the model's own code.

An endpoint serves a ``model.tar.gz`` as SageMaker's scikit-learn container does: the
archive is unpacked, ``code/inference.py`` is loaded and its ``model_fn`` runs once; each
request goes through ``input_fn``, ``predict_fn`` and ``output_fn`` with the request's
``Content-Type`` and ``Accept``. The code is the one Batch Transform runs
(``batch_transform.load_model``), not a copy.

As harsh as SageMaker where the product's guarantee depends on it (errors as
InvokeEndpoint documents them,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html):

* an endpoint that is not served answers ``ValidationError`` (400) "Endpoint <name> of
  account <id> not found.";
* a serverless endpoint refuses calls beyond its ``MaxConcurrency`` in flight with
  ``ThrottlingException`` (400), and a body over its 4 MB payload limit with
  ``ValidationError``;
* a cold endpoint (the first call, and the first after ``idle_s`` without one) answers
  only after ``cold_start_s``, or with ``ModelNotReadyException`` (429) when
  ``cold_refuses`` is set;
* an error raised by the inference code answers ``ModelError`` (424) with the
  container's status and message;
* faults by probability: ``ServiceUnavailable`` (503) and ``InternalFailure`` (500).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from medialens_local.batch_transform import LoadedModel, load_model
from medialens_local.loopback import QuietHandler, Served, start

INVOCATIONS_PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
SERVERLESS_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""Serverless Inference's request limit, 4 MB (Developer Guide, "Serverless Inference",
feature exclusions and limits); a real-time endpoint takes 6 MB."""
ACCOUNT_ID = "123456789012"


ERRORS = {
    "ValidationError": HTTPStatus.BAD_REQUEST,
    "ModelNotReadyException": HTTPStatus.TOO_MANY_REQUESTS,
    "ModelError": HTTPStatus.FAILED_DEPENDENCY,
    "ServiceUnavailable": HTTPStatus.SERVICE_UNAVAILABLE,
    "InternalFailure": HTTPStatus.INTERNAL_SERVER_ERROR,
    # Not modelled for InvokeEndpoint: how a serverless endpoint refuses calls past its
    # MaxConcurrency (Developer Guide, Serverless Inference: they "are throttled").
    "ThrottlingException": HTTPStatus.BAD_REQUEST,
    # A path the service does not have.
    "UnknownOperationException": HTTPStatus.NOT_FOUND,
}
"""The errors answered, with their HTTP status (botocore's model, where it has them)."""


class InvokeError(Exception):
    """An error InvokeEndpoint answers, by its code (its status is the code's)."""

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERRORS[code]
        self.members = members


@dataclass(frozen=True)
class EndpointBehaviour:
    """How an endpoint behaves besides answering.

    Attributes
    ----------
    max_concurrency : int
        Calls in flight at once before ``ThrottlingException`` (ServerlessConfig's
        MaxConcurrency).
    max_payload_bytes : int
    cold_start_s : float
        Extra wait of a call that finds the endpoint cold.
    idle_s : float
        Idle time after which the endpoint is cold again (serverless scales to zero).
    cold_refuses : bool
        A cold endpoint answers ``ModelNotReadyException`` instead of waiting.
    unavailable, internal_failure : float
        Probability per call of ``ServiceUnavailable`` and ``InternalFailure``.
    seed : int, optional
    """

    max_concurrency: int = 5
    max_payload_bytes: int = SERVERLESS_MAX_PAYLOAD_BYTES
    cold_start_s: float = 0.0
    idle_s: float = 600.0
    cold_refuses: bool = False
    unavailable: float = 0.0
    internal_failure: float = 0.0
    seed: int | None = None


@dataclass
class Invocation:
    """One call, as the ledger keeps it."""

    endpoint: str
    outcome: str
    seconds: float


@dataclass
class LocalEndpoint:
    """One served model and its state."""

    name: str
    model: LoadedModel
    behaviour: EndpointBehaviour
    in_flight: int = 0
    last_call: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        """Seed the fault draws."""
        self.random.seed(self.behaviour.seed)


class LocalSageMakerRuntime:
    """The endpoints served, and a ledger of every call."""

    def __init__(self) -> None:
        self.endpoints: dict[str, LocalEndpoint] = {}
        self.ledger: list[Invocation] = []

    def deploy(self, name: str, archive: Path, behaviour: EndpointBehaviour) -> None:
        """Serve ``archive`` as endpoint ``name`` (replacing what it served)."""
        old = self.endpoints.get(name)
        self.endpoints[name] = LocalEndpoint(name, load_model(archive), behaviour)
        if old is not None:
            old.model.directory.cleanup()

    def close(self) -> None:
        """Remove every unpacked model."""
        for endpoint in self.endpoints.values():
            endpoint.model.directory.cleanup()

    def invoke(
        self, name: str, body: bytes, content_type: str, accept: str
    ) -> tuple[bytes, str, str]:
        """Answer one InvokeEndpoint: ``(body, content type, production variant)``.

        Raises
        ------
        InvokeError
            As the service would answer.
        """
        started = time.perf_counter()
        outcome = "ok"
        try:
            return self._invoke(name, body, content_type, accept)
        except InvokeError as error:
            outcome = error.code
            raise
        finally:
            self.ledger.append(Invocation(name, outcome, time.perf_counter() - started))

    def _invoke(
        self, name: str, body: bytes, content_type: str, accept: str
    ) -> tuple[bytes, str, str]:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise InvokeError(
                "ValidationError",
                f"Endpoint {name} of account {ACCOUNT_ID} not found.",
            )
        behaviour = endpoint.behaviour
        if len(body) > behaviour.max_payload_bytes:
            raise InvokeError(
                "ValidationError",
                f"Request body of {len(body)} bytes exceeds the endpoint's limit of "
                f"{behaviour.max_payload_bytes} bytes.",
            )
        with endpoint.lock:
            if endpoint.in_flight >= behaviour.max_concurrency:
                raise InvokeError(
                    "ThrottlingException",
                    f"Maximum concurrency of {behaviour.max_concurrency} reached for "
                    f"endpoint {name}.",
                )
            now = time.monotonic()
            cold = endpoint.last_call is None or now - endpoint.last_call > behaviour.idle_s
            endpoint.last_call = now
            draw = endpoint.random.random()
            endpoint.in_flight += 1
        try:
            if cold and behaviour.cold_refuses:
                raise InvokeError(
                    "ModelNotReadyException",
                    f"Endpoint {name}'s serverless resources are still being provisioned.",
                )
            if cold and behaviour.cold_start_s:
                time.sleep(behaviour.cold_start_s)
            if draw < behaviour.unavailable:
                raise InvokeError(
                    "ServiceUnavailable",
                    "The service is unavailable. Try your call again.",
                )
            if draw < behaviour.unavailable + behaviour.internal_failure:
                raise InvokeError(
                    "InternalFailure",
                    "An internal failure occurred.",
                )
            return self._predict(endpoint, body, content_type, accept)
        finally:
            with endpoint.lock:
                endpoint.in_flight -= 1

    @staticmethod
    def _predict(
        endpoint: LocalEndpoint, body: bytes, content_type: str, accept: str
    ) -> tuple[bytes, str, str]:
        module = endpoint.model.module
        try:
            parsed = module.input_fn(body, content_type)
            answer = module.output_fn(module.predict_fn(parsed, endpoint.model.model), accept)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            raise InvokeError(
                "ModelError",
                f'Received client error (500) from primary with message "{message}".',
                OriginalStatusCode=500,
                OriginalMessage=message,
                LogStreamArn=(
                    f"arn:aws:logs:eu-west-1:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/"
                    f"{endpoint.name}"
                ),
            ) from error
        payload = answer.encode() if isinstance(answer, str) else bytes(answer)
        return payload, accept, "AllTraffic"


def serve(runtime: LocalSageMakerRuntime, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Answer InvokeEndpoint (``POST /endpoints/{name}/invocations``) on a loopback port."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            route = INVOCATIONS_PATH.match(urlsplit(self.path).path)
            if route is None:
                self._error(
                    InvokeError(
                        "UnknownOperationException",
                        f"{self.path}: the local SageMaker Runtime serves only InvokeEndpoint",
                    )
                )
                return
            try:
                payload, content_type, variant = runtime.invoke(
                    unquote(route["name"]),
                    body,
                    self.headers.get("Content-Type") or "application/octet-stream",
                    self.headers.get("Accept") or "application/json",
                )
            except InvokeError as error:
                self._error(error)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-Amzn-Invoked-Production-Variant", variant)
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, error: InvokeError) -> None:
            document = {"message": error.message, **error.members}
            payload = json.dumps(document).encode()
            self.send_response(error.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.send_header("x-amzn-ErrorType", error.code)
            self.end_headers()
            self.wfile.write(payload)

    return start("sagemaker-runtime", Handler, host, port)


@dataclass
class ServedEndpoints:
    """The running local SageMaker Runtime."""

    served: Served
    runtime: LocalSageMakerRuntime

    @property
    def endpoint(self) -> str:
        """Where boto3 reaches it (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``)."""
        return self.served.endpoint


@contextlib.contextmanager
def serving(
    endpoints: Mapping[str, Path], behaviour: EndpointBehaviour | None = None
) -> Iterator[ServedEndpoints]:
    """Serve each ``name -> model.tar.gz`` while the ``with`` block runs."""
    runtime = LocalSageMakerRuntime()
    for name, archive in endpoints.items():
        runtime.deploy(name, archive, behaviour or EndpointBehaviour())
    served = serve(runtime)
    try:
        yield ServedEndpoints(served=served, runtime=runtime)
    finally:
        served.stop()
        runtime.close()
