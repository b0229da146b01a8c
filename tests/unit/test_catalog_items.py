from __future__ import annotations

from typing import Any

from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import analysis_items
from medialens.images.models import (
    FaceMatch,
    ImageAnalysis,
    Label,
    ModerationLabel,
    TextDetection,
    TextKind,
)

LOCATION = CatalogLocation(media_id="uploads/a.jpg", result_bucket="b", result_key="results/a.json")


def analysis(**fields: Any) -> ImageAnalysis:
    return ImageAnalysis(
        media_id="uploads/a.jpg", analysed_at="2026-11-27T10:00:00+00:00", **fields
    )


def test_terms_are_normalised_deduplicated_and_keep_the_best_confidence() -> None:
    items = analysis_items(
        analysis(
            labels=(
                Label("Dog", 97.0, parents=("Animal",)),
                Label("Cat", 80.0, parents=("Animal",)),
            ),
            text=(
                TextDetection("Invoice,", TextKind.WORD, 99.0),
                TextDetection("INVOICE", TextKind.WORD, 91.0),
                TextDetection("Invoice total", TextKind.LINE, 99.0),
            ),
        ),
        LOCATION,
    )

    terms = {item["sk"]: item for item in items if item["sk"] != "META"}
    assert set(terms) == {"LABEL#dog", "LABEL#cat", "LABEL#animal", "WORD#invoice"}
    assert terms["LABEL#animal"]["gsi1sk"] == "097.000#uploads/a.jpg"
    assert terms["WORD#invoice"]["gsi1sk"].startswith("099.000#")
    assert items[-1]["sk"] == "META"


def test_sort_keys_order_by_confidence_as_strings() -> None:
    low = analysis_items(analysis(labels=(Label("Dog", 9.5),)), LOCATION)[0]["gsi1sk"]
    high = analysis_items(analysis(labels=(Label("Dog", 100.0),)), LOCATION)[0]["gsi1sk"]

    assert low < high


def test_only_flagged_media_enter_the_flagged_index() -> None:
    clean = analysis_items(analysis(), LOCATION)[-1]
    flagged = analysis_items(
        analysis(moderation=(ModerationLabel("Violence", None, 90.0),), flagged=True), LOCATION
    )[-1]

    assert "gsi2pk" not in clean
    assert flagged["gsi2pk"] == "FLAGGED"


def test_persons_are_searchable() -> None:
    items = analysis_items(analysis(face_matches=(FaceMatch("bob", "f-1", 97.1),)), LOCATION)

    assert items[0]["gsi1pk"] == "PERSON#bob"
    assert items[-1]["persons"] == ["bob"]


def test_a_label_detected_on_its_own_stays_detected_when_another_label_implies_it() -> None:
    # Rekognition answers "Face" (parent "Person") and "Person" itself; the implied copy
    # may carry the higher confidence, but the image does show a person.
    for labels in (
        (Label("Face", 92.0, parents=("Person",)), Label("Person", 91.0)),
        (Label("Person", 91.0), Label("Face", 92.0, parents=("Person",))),
    ):
        items = {i["sk"]: i for i in analysis_items(analysis(labels=labels), LOCATION)}

        person = items["LABEL#person"]
        assert "via" not in person
        assert float(person["confidence"]) == 92.0
    implied_only = analysis_items(
        analysis(labels=(Label("Face", 92.0, parents=("Person",)),)), LOCATION
    )
    [person] = [i for i in implied_only if i["sk"] == "LABEL#person"]
    assert person["via"] == "Face"
