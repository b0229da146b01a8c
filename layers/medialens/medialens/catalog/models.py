"""Questions the chatbot asks the catalog, and what the catalog answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SearchKind(StrEnum):
    """What a search looks for; all but FLAGGED name a kind of catalog term."""

    LABEL = "LABEL"
    WORD = "WORD"
    PERSON = "PERSON"
    MODERATION = "MODERATION"
    FLAGGED = "FLAGGED"


class MediaType(StrEnum):
    """The two kinds of media the catalog holds."""

    PHOTO = "photo"
    VIDEO = "video"

    @classmethod
    def parse(cls, text: str) -> MediaType | None:
        """Understand "photos", "pictures", "images", "videos", "clips", ... (else ``None``)."""
        word = text.strip().lower()
        if word in _MEDIA_TYPE_WORDS:
            return _MEDIA_TYPE_WORDS[word]
        return _MEDIA_TYPE_WORDS.get(word.removesuffix("s"))

    def plural(self) -> str:
        """Plural noun for answers."""
        return f"{self.value}s"


_MEDIA_TYPE_WORDS = {
    **dict.fromkeys(("photo", "picture", "image", "pic", "still"), MediaType.PHOTO),
    **dict.fromkeys(("video", "clip", "movie", "film", "footage"), MediaType.VIDEO),
}

MAX_KEY_BYTES = 1024
"""DynamoDB's limit for a sort key: a longer cursor cannot be a position in an index."""

CURSOR_PATTERN = re.compile(r"^[0-9T:.\-+Z]{7,40}#.{1,1024}$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A catalog search, as the conversation remembers it between turns.

    Attributes
    ----------
    kind : SearchKind
    value : str | None
        The label, word, person id or moderation label; ``None`` for all flagged media.
    media_type : MediaType | None
        Only photos or only videos; both when ``None``.
    since : str | None
        ISO date: only media analysed on or after it.
    """

    kind: SearchKind
    value: str | None = None
    media_type: MediaType | None = None
    since: str | None = None

    def describe(self) -> str:
        """Say what is searched for, in the words of an answer ("videos with dog")."""
        noun = self.media_type.plural() if self.media_type else "photos and videos"
        phrase = {
            SearchKind.LABEL: f"{noun} with {self.value}",
            SearchKind.WORD: f'{noun} that say "{self.value}"',
            SearchKind.PERSON: f"{noun} showing {self.value}",
            SearchKind.MODERATION: f"{noun} with the moderation label {self.value}",
            SearchKind.FLAGGED: f"flagged {noun}",
        }[self.kind]
        return f"{phrase} since {self.since}" if self.since else phrase


@dataclass(frozen=True, slots=True)
class Match:
    """One media item a search found, with why it matched.

    ``cursor`` resumes the search just after this match, for an answer that lists only
    part of a page.
    """

    media_id: str
    confidence: float | None = None
    seen_seconds: tuple[int, ...] = ()
    cursor: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of matches, in the index's order.

    Attributes
    ----------
    matches : tuple[Match, ...]
    cursor : str | None
        Where the next page starts (the index sort key of the last item read);
        ``None`` when nothing is left.
    examined : int
        Index items read to fill the page; filters can skip most of them.
    """

    matches: tuple[Match, ...]
    cursor: str | None
    examined: int = 0


@dataclass(frozen=True, slots=True)
class MediaSummary:
    """What the chatbot says about one media item, read from its catalog entry."""

    media_id: str
    media_type: MediaType
    status: str
    analysed_at: str | None = None
    labels: tuple[str, ...] = ()
    persons: tuple[str, ...] = ()
    moderation_labels: tuple[str, ...] = ()
    flagged: bool = False
    source_bucket: str | None = None
    source_key: str | None = None
    version_id: str | None = None
    result_bucket: str | None = None
    result_key: str | None = None
    name: str | None = None
    jobs: Mapping[str, str] = field(default_factory=dict)
    rejection_detail: str | None = None
    suggested: tuple[str, ...] = ()
    """Labels the suggester expects beside the detected ones (not detected)."""

    @property
    def display_name(self) -> str:
        """The file name a user would recognise (``beach.jpg``), or the inline name."""
        if self.name:
            return self.name
        return self.media_id.rsplit("/", 1)[-1] or self.media_id
