"""What more than one feature needs from the outside world, as structural interfaces.

Each feature's ``ports`` module holds its own; adapters implement them with boto3, and
tests and the benchmarks pass anything with the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from medialens.shared.media import MediaObject


class MediaStore(Protocol):
    """Object storage for media and results."""

    def read_head(self, media: MediaObject, length: int) -> bytes:
        """Return the first ``length`` bytes of the object, if the version named is current.

        Raises ``SupersededError`` when another version is current or the object is gone.
        """
        ...

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        """Write a JSON document."""
        ...
