"""Exactly-once analysis per object version, with Powertools idempotency on DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from medialens.shared.aws import dynamodb_client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_EXPIRY_SECONDS = 24 * 60 * 60
"""How long a finished analysis answers duplicates; S3 redelivers within minutes."""


class Idempotency:
    """Wraps a function so that equal inputs run it once and later calls get its result.

    Parameters
    ----------
    table_name : str
        DynamoDB table with partition key ``id`` and TTL attribute ``expiration``.
    key_jmespath : str
        JMESPath over the input (a dataclass, as a dict) that selects the fields forming
        the key, for example ``"[bucket, key, version_id, etag]"``.
    expires_after_seconds : int
        Lifetime of a completed record.
    client : DynamoDBClient, optional
        Injected client; the shared retrying client otherwise.
    """

    def __init__(
        self,
        table_name: str,
        *,
        key_jmespath: str,
        expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
        client: DynamoDBClient | None = None,
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=key_jmespath,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        # The shared client reuses boto3's default session and its loaded service data;
        # Powertools' own default opens a new session, which loads them again.
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table_name, boto3_client=client or dynamodb_client()
        )

    def register(self, context: LambdaContext) -> None:
        """Let in-progress records expire with the invocation's own timeout."""
        self.config.register_lambda_context(context)

    def wrap(self, function: Callable[..., Any], *, data_argument: str) -> Callable[..., Any]:
        """Make ``function`` idempotent on its keyword argument ``data_argument``.

        Returns
        -------
        Callable[..., Any]
            The wrapped function; call it with ``data_argument`` as a keyword. Its
            return value must be JSON-serialisable (it is stored for duplicates).
        """
        wrapped: Callable[..., Any] = idempotent_function(
            function,
            data_keyword_argument=data_argument,
            persistence_store=self._persistence,
            config=self.config,
        )
        return wrapped
