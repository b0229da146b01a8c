"""The catalog table's key schema: one place that says how items are keyed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


META = "META"


REFERENCE_FACES = "REFERENCE_FACES"


FLAGGED = "FLAGGED"


MAX_SORT_KEY_BYTES = 1024


def media_pk(media_id: str) -> str:
    """Partition key of a media item."""
    return f"MEDIA#{media_id}"


def term_key(kind: str, value: str) -> str:
    """Key of a searchable term, normalised so that queries match case-insensitively."""
    return f"{kind}#{value.strip().lower()}"


def file_name(media_id: str, name: str | None = None) -> str:
    """Return the name a user calls a media item by: its key's last part, or inline name."""
    return name or media_id.rsplit("/", 1)[-1] or media_id
