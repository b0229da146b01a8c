"""The chatbot's read side of the catalog, against moto with the template's table.

Every item is written by the real writer (``DynamoDBCatalog``): analyses through
``record_analysis``, videos through ``start_video``, ``add_video_terms`` and ``flag``, so
these tests read exactly the shapes the pipeline stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from medialens.catalog.location import CatalogLocation
from medialens.catalog.models import Match, MediaType, SearchKind, SearchPage, SearchQuery
from medialens.catalog.search import DynamoDBCatalogSearch, S3LinkSigner
from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.models import (
    FaceMatch,
    ImageAnalysis,
    IndexedFace,
    Label,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.video.models import JobState, VideoTerm
from moto import mock_aws

from tests.conftest import SETUP_SESSION_MARK
from tests.support.stack import bucket_name, create_table, resource

VIDEO_APIS = ("LABEL_DETECTION", "TEXT_DETECTION", "CONTENT_MODERATION")


@dataclass
class Catalog:
    """The template's catalog table in moto, its writer and its reader."""

    table: str
    client: Any
    writer: DynamoDBCatalog
    search: DynamoDBCatalogSearch

    def photo(
        self,
        media_id: str,
        analysed_at: str,
        *,
        labels: tuple[Label, ...] = (),
        text: tuple[TextDetection, ...] = (),
        moderation: tuple[ModerationLabel, ...] = (),
        face_matches: tuple[FaceMatch, ...] = (),
        indexed_faces: tuple[IndexedFace, ...] = (),
        flagged: bool = False,
        version_id: str | None = None,
        name: str | None = None,
    ) -> None:
        analysis = ImageAnalysis(
            media_id=media_id,
            analysed_at=analysed_at,
            labels=labels,
            text=text,
            moderation=moderation,
            face_matches=face_matches,
            indexed_faces=indexed_faces,
            flagged=flagged,
        )
        self.writer.record_analysis(analysis, location(media_id, version_id, name))

    def video(
        self, media_id: str, started_at: str, terms: tuple[VideoTerm, ...] = (), **kw: Any
    ) -> None:
        self.writer.start_video(location(media_id, kw.get("version_id")), VIDEO_APIS, started_at)
        if terms:
            self.writer.add_video_terms(media_id, terms, started_at)


def location(
    media_id: str, version_id: str | None = None, name: str | None = None
) -> CatalogLocation:
    inline = media_id.startswith("inline/")
    return CatalogLocation(
        media_id=media_id,
        result_bucket=bucket_name(),
        result_key=f"results/{media_id}.json",
        source_bucket=None if inline else bucket_name(),
        source_key=None if inline else media_id,
        version_id=version_id,
        name=name,
    )


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        setattr(session._session, SETUP_SESSION_MARK, True)
        client = session.client("dynamodb")
        table = create_table(client, "CatalogTable")
        yield Catalog(table, client, DynamoDBCatalog(table), DynamoDBCatalogSearch(table))


def all_pages(
    search: DynamoDBCatalogSearch, query: SearchQuery, *, limit: int, budget: int = 5
) -> list[SearchPage]:
    pages: list[SearchPage] = []
    cursor: str | None = None
    while True:
        page = search.find(query, limit=limit, cursor=cursor, budget=budget)
        pages.append(page)
        assert len(page.matches) <= limit
        assert len(pages) < 100, "the cursor never ran out"
        if page.cursor is None:
            return pages
        cursor = page.cursor


def ids(page: SearchPage) -> list[str]:
    return [match.media_id for match in page.matches]


# ------------------------------------------------------------------ the table itself


def test_the_table_has_the_templates_keys_and_indexes(catalog: Catalog) -> None:
    described = catalog.client.describe_table(TableName=catalog.table)["Table"]
    declared = resource("CatalogTable")["Properties"]

    assert described["KeySchema"] == declared["KeySchema"]
    indexes = {
        index["IndexName"]: index["KeySchema"] for index in described["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        index["IndexName"]: index["KeySchema"] for index in declared["GlobalSecondaryIndexes"]
    }
    assert set(indexes) == {"ByTerm", "Flagged"}


# ------------------------------------------------------------------ find, by kind


def test_find_by_label_returns_photos_and_videos_most_confident_first(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/pets/tabby.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Cat", 70.0),)
    )
    catalog.photo(
        "uploads/pets/chelsea the cat.jpg",
        "2026-11-20T11:00:00+00:00",
        labels=(Label("Cat", 95.5, parents=("Animal",)), Label("Dog", 99.0)),
    )
    catalog.photo(
        "uploads/pets/kitten.jpg", "2026-11-20T12:00:00+00:00", labels=(Label("cat", 88.25),)
    )
    catalog.video(
        "uploads/clips/cat-and-rocket.mp4",
        "2026-11-21T09:00:00+00:00",
        (VideoTerm("LABEL", "Cat", 91.0, frozenset({4, 3})),),
    )
    catalog.photo("uploads/pets/rex.jpg", "2026-11-20T13:00:00+00:00", labels=(Label("Dog", 97.0),))

    page = catalog.search.find(
        SearchQuery(SearchKind.LABEL, "cat"), limit=10, cursor=None, budget=3
    )

    assert page.matches == (
        Match("uploads/pets/chelsea the cat.jpg", 95.5),
        Match("uploads/clips/cat-and-rocket.mp4", 91.0, (3, 4)),
        Match("uploads/pets/kitten.jpg", 88.25),
        Match("uploads/pets/tabby.jpg", 70.0),
    )
    assert page.cursor is None
    # Parents are searchable too, and the value is matched case-insensitively.
    parent = catalog.search.find(
        SearchQuery(SearchKind.LABEL, " ANIMAL "), limit=10, cursor=None, budget=1
    )
    assert ids(parent) == ["uploads/pets/chelsea the cat.jpg"]


def test_find_by_word_person_and_moderation_label(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/docs/invoice.png",
        "2026-11-20T10:00:00+00:00",
        text=(
            TextDetection("INVOICE", TextKind.WORD, 99.0),
            TextDetection("Total:", TextKind.WORD, 92.0),
            TextDetection("INVOICE Total:", TextKind.LINE, 99.0),
        ),
    )
    catalog.photo(
        "uploads/docs/receipt.png",
        "2026-11-20T11:00:00+00:00",
        text=(TextDetection("invoice", TextKind.WORD, 81.5),),
    )
    catalog.photo(
        "uploads/mission/portrait.jpg",
        "2026-11-20T12:00:00+00:00",
        face_matches=(FaceMatch("eileen-collins", "face-9", 98.5),),
    )
    catalog.photo(
        "faces/eileen-collins/reference.jpg",
        "2026-11-19T12:00:00+00:00",
        indexed_faces=(IndexedFace("eileen-collins", "face-1", 99.9),),
    )
    catalog.photo(
        "uploads/misc/fight.jpg",
        "2026-11-20T13:00:00+00:00",
        moderation=(ModerationLabel("Violence", None, 91.0),),
        flagged=True,
    )

    def found(kind: SearchKind, value: str) -> list[Match]:
        page = catalog.search.find(SearchQuery(kind, value), limit=5, cursor=None, budget=2)
        assert page.cursor is None
        return list(page.matches)

    assert found(SearchKind.WORD, "invoice") == [
        Match("uploads/docs/invoice.png", 99.0),
        Match("uploads/docs/receipt.png", 81.5),
    ]
    assert [m.media_id for m in found(SearchKind.WORD, "total")] == ["uploads/docs/invoice.png"]
    # Lines are not indexed, only words.
    assert found(SearchKind.WORD, "invoice total:") == []
    assert found(SearchKind.PERSON, "eileen-collins") == [
        Match("faces/eileen-collins/reference.jpg", 99.9),
        Match("uploads/mission/portrait.jpg", 98.5),
    ]
    assert found(SearchKind.MODERATION, "violence") == [Match("uploads/misc/fight.jpg", 91.0)]
    # Terms of one kind are never found as another.
    assert found(SearchKind.LABEL, "invoice") == []
    assert found(SearchKind.WORD, "eileen-collins") == []


def test_flagged_media_come_newest_first_photos_and_videos_alike(catalog: Catalog) -> None:
    violence = (ModerationLabel("Violence", None, 91.0),)
    catalog.photo(
        "uploads/a/old.jpg", "2026-11-01T08:00:00+00:00", moderation=violence, flagged=True
    )
    catalog.photo(
        "uploads/a/new.jpg", "2026-11-25T08:00:00+00:00", moderation=violence, flagged=True
    )
    catalog.photo("uploads/a/clean.jpg", "2026-11-26T08:00:00+00:00", labels=(Label("Cat", 99.0),))
    catalog.video("uploads/clips/fight.mp4", "2026-11-10T08:00:00+00:00")
    catalog.writer.flag("uploads/clips/fight.mp4", "2026-11-12T08:00:00+00:00")

    page = catalog.search.find(SearchQuery(SearchKind.FLAGGED), limit=10, cursor=None, budget=2)

    assert ids(page) == ["uploads/a/new.jpg", "uploads/clips/fight.mp4", "uploads/a/old.jpg"]
    assert all(match.confidence is None for match in page.matches)
    videos = catalog.search.find(
        SearchQuery(SearchKind.FLAGGED, media_type=MediaType.VIDEO), limit=10, cursor=None, budget=2
    )
    assert ids(videos) == ["uploads/clips/fight.mp4"]
    photos_since = catalog.search.find(
        SearchQuery(SearchKind.FLAGGED, media_type=MediaType.PHOTO, since="2026-11-02"),
        limit=10,
        cursor=None,
        budget=2,
    )
    assert ids(photos_since) == ["uploads/a/new.jpg"]


# ------------------------------------------------------------------ pagination


@pytest.mark.parametrize("count", [10, 13])
@pytest.mark.parametrize("limit", [1, 4, 5])
def test_pages_visit_every_match_once_in_order(catalog: Catalog, count: int, limit: int) -> None:
    expected: list[tuple[float, str]] = []
    for n in range(count):
        # Some confidences tie: the media id then orders them.
        confidence = 60.0 + (n // 2) * 3.5
        media_id = f"uploads/space/rocket-{n:02d}.jpg"
        catalog.photo(media_id, "2026-11-20T10:00:00+00:00", labels=(Label("Rocket", confidence),))
        expected.append((confidence, media_id))
    catalog.photo(
        "uploads/kitchen/coffee.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Coffee", 99.0),)
    )
    expected.sort(reverse=True)

    pages = all_pages(catalog.search, SearchQuery(SearchKind.LABEL, "rocket"), limit=limit)

    visited = [match.media_id for page in pages for match in page.matches]
    assert visited == [media_id for _, media_id in expected]
    assert [len(page.matches) for page in pages[:-1]] == [limit] * (len(pages) - 1)
    assert len(pages) == -(-count // limit)


def test_a_photo_or_video_filter_keeps_only_that_media_type(catalog: Catalog) -> None:
    for n in range(7):
        catalog.photo(
            f"uploads/p/cat-{n}.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Cat", 80.0 + n),)
        )
    for n in range(3):
        catalog.video(
            f"uploads/v/cat-{n}.mp4",
            "2026-11-20T10:00:00+00:00",
            (VideoTerm("LABEL", "Cat", 79.5 + 2 * n, frozenset({n})),),
        )

    def visit(media_type: MediaType) -> list[str]:
        query = SearchQuery(SearchKind.LABEL, "cat", media_type=media_type)
        return [
            m.media_id for page in all_pages(catalog.search, query, limit=2) for m in page.matches
        ]

    assert visit(MediaType.VIDEO) == [
        "uploads/v/cat-2.mp4",
        "uploads/v/cat-1.mp4",
        "uploads/v/cat-0.mp4",
    ]
    assert visit(MediaType.PHOTO) == [f"uploads/p/cat-{n}.jpg" for n in reversed(range(7))]


def test_a_since_filter_compares_the_analysis_time(catalog: Catalog) -> None:
    days = ["2026-11-01", "2026-11-10", "2026-11-15", "2026-11-20", "2026-11-26"]
    for n, day in enumerate(days):
        catalog.photo(
            f"uploads/p/sky-{n}.jpg", f"{day}T10:00:00+00:00", labels=(Label("Sky", 90.0 - n),)
        )
    catalog.video(
        "uploads/v/sky.mp4",
        "2026-11-09T10:00:00+00:00",
        (VideoTerm("LABEL", "Sky", 99.0, frozenset({1})),),
    )

    def visit(since: str, media_type: MediaType | None = None) -> list[str]:
        query = SearchQuery(SearchKind.LABEL, "sky", media_type=media_type, since=since)
        return [
            m.media_id for page in all_pages(catalog.search, query, limit=2) for m in page.matches
        ]

    assert visit("2026-11-15") == [
        "uploads/p/sky-2.jpg",
        "uploads/p/sky-3.jpg",
        "uploads/p/sky-4.jpg",
    ]
    assert visit("2026-11-09") == [
        "uploads/v/sky.mp4",
        "uploads/p/sky-1.jpg",
        "uploads/p/sky-2.jpg",
        "uploads/p/sky-3.jpg",
        "uploads/p/sky-4.jpg",
    ]
    assert visit("2026-11-09", MediaType.PHOTO) == [f"uploads/p/sky-{n}.jpg" for n in range(1, 5)]
    assert visit("2026-11-27") == []


def test_when_filters_skip_most_items_the_budget_ends_the_page_with_a_cursor(
    catalog: Catalog,
) -> None:
    for n in range(40):
        catalog.photo(
            f"uploads/p/beach-{n:02d}.jpg",
            "2026-11-20T10:00:00+00:00",
            labels=(Label("Beach", 99.0 - n / 10),),
        )
    videos = ["uploads/v/beach-a.mp4", "uploads/v/beach-b.mp4", "uploads/v/beach-c.mp4"]
    for n, media_id in enumerate(videos):
        catalog.video(
            media_id,
            "2026-11-20T10:00:00+00:00",
            (VideoTerm("LABEL", "Beach", 50.0 - n, frozenset({n})),),
        )
    query = SearchQuery(SearchKind.LABEL, "beach", media_type=MediaType.VIDEO)

    first = catalog.search.find(query, limit=2, cursor=None, budget=1)

    assert first.matches == ()
    assert first.cursor is not None
    assert first.examined > 0
    pages = [first]
    while pages[-1].cursor is not None:
        pages.append(catalog.search.find(query, limit=2, cursor=pages[-1].cursor, budget=1))
        assert len(pages) < 50
    visited = [match.media_id for page in pages for match in page.matches]
    assert visited == videos
    # The page stopped for its budget, not because it had read everything.
    assert 0 < first.examined < 40


# ------------------------------------------------------------------ look-ups


def test_term_exists(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/kitchen/coffee.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Coffee", 95.0),)
    )
    catalog.video(
        "uploads/clips/cat-and-rocket.mp4",
        "2026-11-20T10:00:00+00:00",
        (VideoTerm("WORD", "liftoff", 90.0, frozenset({7})),),
    )

    assert catalog.search.term_exists(SearchKind.LABEL, "coffee")
    assert catalog.search.term_exists(SearchKind.LABEL, "Coffee ")
    assert catalog.search.term_exists(SearchKind.WORD, "liftoff")
    assert not catalog.search.term_exists(SearchKind.LABEL, "tea")
    assert not catalog.search.term_exists(SearchKind.WORD, "coffee")
    assert not catalog.search.term_exists(SearchKind.LABEL, "liftoff")


def test_describe_summarises_photos_and_videos_and_skips_missing_ids(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/mission/portrait.jpg",
        "2026-11-20T10:00:00+00:00",
        labels=(Label("Person", 99.0), Label("Rocket", 80.0)),
        face_matches=(FaceMatch("eileen-collins", "face-9", 98.5),),
        moderation=(ModerationLabel("Suggestive", None, 85.0),),
        flagged=True,
        version_id="v-photo",
    )
    catalog.video(
        "uploads/clips/cat-and-rocket.mp4", "2026-11-21T10:00:00+00:00", version_id="v-video"
    )
    catalog.writer.record_job_state(
        "uploads/clips/cat-and-rocket.mp4",
        "LABEL_DETECTION",
        JobState.SUCCEEDED,
        "2026-11-21T10:05:00+00:00",
        version_id="v-video",
    )

    found = catalog.search.describe(
        [
            "uploads/mission/portrait.jpg",
            "uploads/missing.jpg",
            "uploads/clips/cat-and-rocket.mp4",
            "uploads/mission/portrait.jpg",
        ]
    )

    assert set(found) == {"uploads/mission/portrait.jpg", "uploads/clips/cat-and-rocket.mp4"}
    photo = found["uploads/mission/portrait.jpg"]
    assert photo.media_type is MediaType.PHOTO
    assert photo.status == "ANALYSED"
    assert photo.analysed_at == "2026-11-20T10:00:00+00:00"
    assert photo.labels == ("Person", "Rocket")
    assert photo.persons == ("eileen-collins",)
    assert photo.moderation_labels == ("Suggestive",)
    assert photo.flagged is True
    assert (photo.source_bucket, photo.source_key, photo.version_id) == (
        bucket_name(),
        "uploads/mission/portrait.jpg",
        "v-photo",
    )
    assert (photo.result_bucket, photo.result_key) == (
        bucket_name(),
        "results/uploads/mission/portrait.jpg.json",
    )
    assert photo.jobs == {}
    video = found["uploads/clips/cat-and-rocket.mp4"]
    assert video.media_type is MediaType.VIDEO
    assert video.status == "IN_PROGRESS"
    assert video.jobs == {
        "LABEL_DETECTION": "SUCCEEDED",
        "TEXT_DETECTION": "STARTING",
        "CONTENT_MODERATION": "STARTING",
    }
    assert video.flagged is False
    assert video.display_name == "cat-and-rocket.mp4"
    assert catalog.search.describe([]) == {}
    assert catalog.search.describe(["uploads/missing.jpg"]) == {}


def test_describe_reads_a_rejection(catalog: Catalog) -> None:
    catalog.writer.record_rejection(
        location("uploads/docs/notes.gif"),
        "unsupported_format",
        "GIF is not supported",
        "2026-11-20T10:00:00+00:00",
    )

    summary = catalog.search.media("uploads/docs/notes.gif")

    assert summary is not None
    assert (summary.status, summary.rejection_detail) == ("REJECTED", "GIF is not supported")


def test_media_reads_one_entry(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/kitchen/coffee.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Coffee", 95.0),)
    )

    summary = catalog.search.media("uploads/kitchen/coffee.jpg")

    assert summary is not None
    assert (summary.media_id, summary.labels, summary.media_type) == (
        "uploads/kitchen/coffee.jpg",
        ("Coffee",),
        MediaType.PHOTO,
    )
    assert catalog.search.media("uploads/kitchen/tea.jpg") is None
    assert catalog.search.media("coffee.jpg") is None


def test_named_finds_a_file_name_in_every_folder_newest_first(catalog: Catalog) -> None:
    catalog.photo("uploads/2025/beach.jpg", "2026-11-01T10:00:00+00:00")
    catalog.photo("uploads/2026/beach.jpg", "2026-11-20T10:00:00+00:00")
    catalog.video("uploads/clips/beach.jpg", "2026-11-10T10:00:00+00:00")
    catalog.photo("uploads/2026/beach.jpeg", "2026-11-25T10:00:00+00:00")
    catalog.photo("inline/abc123", "2026-11-26T10:00:00+00:00", name="Beach.JPG")

    assert catalog.search.named("beach.jpg", limit=10) == (
        "inline/abc123",
        "uploads/2026/beach.jpg",
        "uploads/clips/beach.jpg",
        "uploads/2025/beach.jpg",
    )
    assert catalog.search.named("BEACH.jpg", limit=2) == ("inline/abc123", "uploads/2026/beach.jpg")
    assert catalog.search.named("beach", limit=10) == ()
    assert catalog.search.named("2026/beach.jpg", limit=10) == ()


def test_a_new_version_with_another_name_is_no_longer_found_by_the_old_one(
    catalog: Catalog,
) -> None:
    catalog.photo("inline/abc123", "2026-11-20T10:00:00+00:00", name="draft.png")
    catalog.photo("inline/abc123", "2026-11-21T10:00:00+00:00", name="final.png")

    assert catalog.search.named("draft.png", limit=5) == ()
    assert catalog.search.named("final.png", limit=5) == ("inline/abc123",)


INJECTIONS = [
    'cat" OR "1"="1',
    "LABEL#dog",
    "a) OR attribute_exists(pk",
    "dog#099.000",
    ":v0",
    "#n0",
    "*",
    "猫",
    "café 🐈",
    "cat\x00",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_like_values_are_just_not_found(catalog: Catalog, value: str) -> None:
    catalog.photo("uploads/pets/dog.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Dog", 99.0),))
    catalog.photo("uploads/pets/cat.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Cat", 99.0),))
    catalog.photo(
        "uploads/misc/fight.jpg",
        "2026-11-20T10:00:00+00:00",
        moderation=(ModerationLabel("Violence", None, 91.0),),
        flagged=True,
    )

    for kind in (SearchKind.LABEL, SearchKind.WORD, SearchKind.PERSON, SearchKind.MODERATION):
        page = catalog.search.find(SearchQuery(kind, value), limit=5, cursor=None, budget=2)
        assert page == SearchPage((), None, 0)
        assert not catalog.search.term_exists(kind, value)
    assert catalog.search.named(value, limit=5) == ()
    assert catalog.search.media(value) is None
    assert catalog.search.describe([value]) == {}


def test_unicode_terms_round_trip(catalog: Catalog) -> None:
    catalog.photo(
        "uploads/cafés/crème.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Café", 91.0),)
    )

    page = catalog.search.find(
        SearchQuery(SearchKind.LABEL, "CAFÉ"), limit=5, cursor=None, budget=1
    )

    assert ids(page) == ["uploads/cafés/crème.jpg"]
    assert catalog.search.named("crème.jpg", limit=5) == ("uploads/cafés/crème.jpg",)


# ------------------------------------------------------------------ links


@pytest.fixture
def bucket() -> Iterator[Any]:
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        setattr(session._session, SETUP_SESSION_MARK, True)
        s3 = session.client("s3")
        s3.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(
            Bucket=bucket_name(), VersioningConfiguration={"Status": "Enabled"}
        )
        yield s3


def test_a_link_downloads_the_exact_object_version(bucket: Any) -> None:
    key = "uploads/pets/chelsea the cat.jpg"
    first = bucket.put_object(Bucket=bucket_name(), Key=key, Body=b"first version")["VersionId"]
    bucket.put_object(Bucket=bucket_name(), Key=key, Body=b"second version")
    signer = S3LinkSigner()

    versioned = signer.link(bucket_name(), key, version_id=first, expires_s=120)
    latest = signer.link(bucket_name(), key, version_id=None, expires_s=120)

    assert requests.get(versioned, timeout=10).content == b"first version"
    assert requests.get(latest, timeout=10).content == b"second version"
    assert parse_qs(urlsplit(versioned).query)["versionId"] == [first]
    assert "versionId" not in parse_qs(urlsplit(latest).query)
    assert unquote(urlsplit(latest).path).endswith(key)
    assert bucket_name() in urlsplit(latest).netloc + urlsplit(latest).path


def test_a_link_is_signed_with_sigv4_and_expires_when_asked(bucket: Any) -> None:
    """New buckets (after June 2020) refuse Signature Version 2: links must use SigV4."""
    key = "uploads/kitchen/coffee.jpg"
    version = bucket.put_object(Bucket=bucket_name(), Key=key, Body=b"coffee")["VersionId"]

    link = S3LinkSigner().link(bucket_name(), key, version_id=version, expires_s=300)

    query = parse_qs(urlsplit(link).query)
    assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"], link
    assert query.get("X-Amz-Expires") == ["300"]
    assert query.get("versionId") == [version]
    assert "/eu-west-1/s3/aws4_request" in query["X-Amz-Credential"][0]
    assert requests.get(link, timeout=10).content == b"coffee"


def test_confidences_are_stored_as_the_writer_rounds_them(catalog: Catalog) -> None:
    catalog.photo("uploads/p/x.jpg", "2026-11-20T10:00:00+00:00", labels=(Label("Cat", 87.12345),))

    page = catalog.search.find(SearchQuery(SearchKind.LABEL, "cat"), limit=1, cursor=None, budget=1)

    assert page.matches == (Match("uploads/p/x.jpg", float(Decimal("87.123"))),)


@pytest.mark.parametrize(
    "key",
    ["uploads/pets/chelsea the cat.jpg", "uploads/a+b/caf\u00e9 #1?.jpg", "uploads/x~y/z.png"],
)
@pytest.mark.parametrize("version_id", [None, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"])
def test_a_link_is_the_url_botocore_would_presign(
    bucket: Any, monkeypatch: pytest.MonkeyPatch, key: str, version_id: str | None
) -> None:
    import datetime

    import botocore.auth

    instant = datetime.datetime(2026, 11, 27, 8, 0, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: instant)
    # The same (pure Python) SigV4 query signer on both sides, as in Lambda (no awscrt).
    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "s3v4-query", botocore.auth.S3SigV4QueryAuth)
    signer = S3LinkSigner()
    # The first link to a bucket is botocore's own; the ones after it are signed here.
    signer.link(bucket_name(), "uploads/first.jpg", version_id=None, expires_s=60)
    params = {"Bucket": bucket_name(), "Key": key}
    if version_id:
        params["VersionId"] = version_id
    expected = boto3.client("s3", config=Config(signature_version="s3v4")).generate_presigned_url(
        "get_object", Params=params, ExpiresIn=120
    )

    link = signer.link(bucket_name(), key, version_id=version_id, expires_s=120)

    assert urlsplit(link)._replace(query="") == urlsplit(expected)._replace(query="")
    assert parse_qs(urlsplit(link).query) == parse_qs(urlsplit(expected).query)
