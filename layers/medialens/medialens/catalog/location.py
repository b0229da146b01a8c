"""Where a media item and its analysis live; the catalog's key for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medialens.shared.media import MediaObject


@dataclass(frozen=True, slots=True)
class CatalogLocation:
    """Identity of a media item in the catalog, and where its full analysis is.

    Attributes
    ----------
    media_id : str
        Catalog key: the S3 key of the source, or ``inline/<sha256>``.
    source_bucket, source_key, version_id, etag : str | None
        The analysed S3 object version; ``None`` for inline bytes.
    result_bucket, result_key : str
        Where ``results/<media_id>.json`` is written.
    name : str | None
        Caller-supplied name of inline media.
    sequencer : str | None
        The S3 event's sequencer in :func:`~medialens.shared.media.sequencer_order` form;
        a write never replaces an entry recorded from a later event.
    """

    media_id: str
    result_bucket: str
    result_key: str
    source_bucket: str | None = None
    source_key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    name: str | None = None
    sequencer: str | None = None

    @classmethod
    def for_object(cls, media: MediaObject, result_bucket: str, result_key: str) -> CatalogLocation:
        """Locate a dropped S3 object version, with its results at ``result_key``."""
        from medialens.shared.media import sequencer_order

        return cls(
            media_id=media.media_id,
            result_bucket=result_bucket,
            result_key=result_key,
            source_bucket=media.bucket,
            source_key=media.key,
            version_id=media.version_id,
            etag=media.etag,
            sequencer=sequencer_order(media.sequencer) if media.sequencer else None,
        )
