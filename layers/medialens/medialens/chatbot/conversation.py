"""The chatbot's memory between turns, kept in Lex session attributes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from medialens.catalog.models import (
    CURSOR_PATTERN,
    MAX_KEY_BYTES,
    MediaType,
    SearchKind,
    SearchQuery,
)


@dataclass(frozen=True, slots=True)
class Conversation:
    """What the bot remembers between turns, in one session attribute.

    The client can read and rewrite session attributes, so :meth:`load` trusts nothing:
    anything malformed is forgotten, never interpreted.

    Attributes
    ----------
    query : SearchQuery | None
        The last search, for "show me more" and "only videos".
    cursor : str | None
        Where that search's next page starts.
    shown : int
        Results already listed for it.
    asking : str | None
        The slot being asked for again, as ``Intent.Slot``.
    reprompts : int
        Times ``asking`` has been asked for again.
    suggested : str | None
        The value offered for ``asking`` ("Did you mean espresso?"), which "yes" accepts.
    """

    query: SearchQuery | None = None
    cursor: str | None = None
    shown: int = 0
    asking: str | None = None
    reprompts: int = 0
    suggested: str | None = None

    def dump(self) -> str:
        """Serialise compactly for a session attribute."""
        data: dict[str, Any] = {"shown": self.shown, "reprompts": self.reprompts}
        if self.query is not None:
            data["query"] = {k: v for k, v in asdict(self.query).items() if v is not None}
        for name in ("cursor", "asking", "suggested"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def load(cls, text: str | None) -> Conversation:
        """Parse :meth:`dump`'s output; anything else gives an empty conversation."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            query = data.get("query")
            parsed = (
                SearchQuery(
                    kind=SearchKind(query["kind"]),
                    value=_optional_text(query.get("value")),
                    media_type=MediaType(query["media_type"]) if "media_type" in query else None,
                    since=date.fromisoformat(query["since"]).isoformat()
                    if "since" in query
                    else None,
                )
                if query is not None
                else None
            )
            cursor = data.get("cursor")
            if cursor is not None and not (
                isinstance(cursor, str)
                and CURSOR_PATTERN.match(cursor)
                and len(cursor.encode()) <= MAX_KEY_BYTES
            ):
                cursor = None
            return cls(
                query=parsed,
                cursor=cursor,
                shown=max(0, int(data.get("shown", 0))),
                asking=_optional_text(data.get("asking")),
                reprompts=max(0, int(data.get("reprompts", 0))),
                suggested=_optional_text(data.get("suggested")),
            )
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            return cls()


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError("not a search value")
    return value
