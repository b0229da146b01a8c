"""Settings of the ingest consumer, parsed from the function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.ingest.pacing import MAX_MAX_CONCURRENCY, MIN_MAX_CONCURRENCY, RekognitionQuotas
from medialens.shared.settings import EnvironmentSettings, read_number, read_required


@dataclass(frozen=True, slots=True)
class IngestSettings(EnvironmentSettings):
    """Where the ingest queues are, and the quotas the analysis is paced to.

    Attributes
    ----------
    queue_url, dead_letter_queue_url : str
        The ingest queue and its dead-letter queue.
    quotas : RekognitionQuotas
        The account's Rekognition TPS quotas, as the stack was told them.
    max_concurrency : int
        The event source mapping's ``MaximumConcurrency``: how many sandboxes share them.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset(
        {
            "INGEST_QUEUE_URL",
            "INGEST_DEAD_LETTER_QUEUE_URL",
            "REKOGNITION_TPS",
            "INGEST_MAX_CONCURRENCY",
        }
    )

    queue_url: str
    dead_letter_queue_url: str
    quotas: RekognitionQuotas
    max_concurrency: int

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> IngestSettings:
        """Read the variables from ``env``."""
        return cls(
            queue_url=read_required(env, "INGEST_QUEUE_URL"),
            dead_letter_queue_url=read_required(env, "INGEST_DEAD_LETTER_QUEUE_URL"),
            quotas=RekognitionQuotas.parse(read_required(env, "REKOGNITION_TPS")),
            max_concurrency=int(
                read_number(
                    env,
                    "INGEST_MAX_CONCURRENCY",
                    MIN_MAX_CONCURRENCY,
                    MIN_MAX_CONCURRENCY,
                    MAX_MAX_CONCURRENCY,
                )
            ),
        )
