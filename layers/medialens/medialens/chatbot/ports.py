"""What the chatbot needs from the outside world, as structural interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from medialens.catalog.models import MediaSummary, SearchKind, SearchPage, SearchQuery
    from medialens.workflows.suggester import RelatedLabel


class CatalogReader(Protocol):
    """The catalog's read side, as the chatbot queries it."""

    def find(
        self, query: SearchQuery, *, limit: int, cursor: str | None, budget: int
    ) -> SearchPage:
        """Read up to ``limit`` matches after ``cursor``, reading at most ``budget`` pages."""
        ...

    def term_exists(self, kind: SearchKind, value: str) -> bool:
        """Whether any media item carries this term."""
        ...

    def describe(self, media_ids: Sequence[str]) -> dict[str, MediaSummary]:
        """Catalog entries of these media items, by media id (missing ones left out)."""
        ...

    def media(self, media_id: str) -> MediaSummary | None:
        """One media item's catalog entry."""
        ...

    def named(self, file_name: str, *, limit: int) -> tuple[str, ...]:
        """Media ids whose file name is ``file_name``, in any folder, newest first."""
        ...


class LinkSigner(Protocol):
    """Makes short-lived links to stored objects."""

    def link(self, bucket: str, key: str, *, version_id: str | None, expires_s: int) -> str:
        """Make a link that fetches the object version for ``expires_s`` seconds."""
        ...


class RelatedLabelsReader(Protocol):
    """The mined label suggestions ("beach" -> "sea"), as the chatbot reads them."""

    def related(self, label: str) -> tuple[RelatedLabel, ...]:
        """Labels suggested beside ``label``, best first; none when nothing was mined."""
        ...


@dataclass(frozen=True, slots=True)
class ChatPorts:
    """What the chatbot reads: the catalog, a signer for links, the mined label suggestions."""

    catalog: CatalogReader
    links: LinkSigner
    related: RelatedLabelsReader
