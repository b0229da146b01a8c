"""The DynamoDB catalog on its own, against moto with the template's table."""

from __future__ import annotations

import pytest
from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.models import ImageAnalysis, Label
from medialens.shared.errors import SupersededError
from medialens.shared.media import sequencer_order

from tests.support.stack import Stack


def location(sequencer: str) -> CatalogLocation:
    return CatalogLocation(
        media_id="uploads/pet.jpg",
        result_bucket="b",
        result_key="results/uploads/pet.jpg.json",
        sequencer=sequencer_order(sequencer),
    )


def analysis(label: str) -> ImageAnalysis:
    return ImageAnalysis(
        media_id="uploads/pet.jpg",
        analysed_at="2026-11-27T10:00:00+00:00",
        labels=(Label(label, 90.0),),
    )


def test_an_older_event_cannot_overwrite_a_newer_one_even_when_it_gets_this_far(
    stack: Stack,
) -> None:
    catalog = DynamoDBCatalog(stack.catalog_table)
    catalog.record_analysis(analysis("Cat"), location("0055AED6DCD90281F0"))

    with pytest.raises(SupersededError):
        catalog.record_analysis(analysis("Dog"), location("0055AED6DCD90281E5"))
    with pytest.raises(SupersededError):
        catalog.record_rejection(location("0055AED6DCD90281E5"), "empty", "zero bytes", "t")

    assert stack.search("ByTerm", "LABEL#cat") == ["uploads/pet.jpg"]
    assert stack.search("ByTerm", "LABEL#dog") == []


def test_reference_faces_are_remembered_and_survive_a_rejected_version(stack: Stack) -> None:
    catalog = DynamoDBCatalog(stack.catalog_table)
    catalog.remember_reference_faces("faces/bob/a.jpg", "bob", ["face-1"])

    catalog.record_rejection(
        CatalogLocation(media_id="faces/bob/a.jpg", result_bucket="b", result_key="k"),
        "unsupported_format",
        "image/gif",
        "t",
    )

    assert catalog.reference_faces("faces/bob/a.jpg") == ("face-1",)
    assert catalog.reference_faces("faces/nobody/a.jpg") == ()
