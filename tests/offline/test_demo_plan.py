from __future__ import annotations

from pathlib import Path

from medialens_local.stack import plan_drops


def test_a_users_folder_maps_faces_to_references_and_the_rest_to_uploads(tmp_path: Path) -> None:
    for relative in (
        "faces/ada/1.jpg",
        "trip/beach day.png",
        "uploads/x.jpg",
        ".hidden.jpg",
        ".git/objects/ab",
    ):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")

    keys = [drop.key for drop in plan_drops(tmp_path, "uploads/", "people/")]

    assert keys == ["people/ada/1.jpg", "uploads/trip/beach day.png", "uploads/x.jpg"]
