"""The catalog table's key schema: one place that says how items are keyed."""

from __future__ import annotations

import unicodedata

META = "META"


REFERENCE_FACES = "REFERENCE_FACES"


FLAGGED = "FLAGGED"


MAX_SORT_KEY_BYTES = 1024


def media_pk(media_id: str) -> str:
    """Partition key of a media item."""
    return f"MEDIA#{media_id}"


def term_key(kind: str, value: str) -> str:
    """Key of a searchable term, normalised so that queries match case-insensitively.

    Also in Unicode's composed form (NFC): macOS writes file names decomposed (NFD), so
    an upload's ``café.jpg`` arrives as ``cafe`` and a combining accent, while the same
    name typed to the bot is composed; both must meet at one key.
    """
    return f"{kind}#{unicodedata.normalize('NFC', value.strip()).lower()}"


def spellings(text: str) -> tuple[str, ...]:
    """``text`` as typed and in Unicode's composed and decomposed forms, each once.

    S3 keeps a key's bytes as uploaded, so a media id is found only in its own form.
    """
    return tuple(
        dict.fromkeys(
            (text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text))
        )
    )


def file_name(media_id: str, name: str | None = None) -> str:
    """Return the name a user calls a media item by: its key's last part, or inline name."""
    return name or media_id.rsplit("/", 1)[-1] or media_id
