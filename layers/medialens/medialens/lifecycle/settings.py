"""Settings of the erasure function, parsed from its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.settings import EnvironmentSettings, read_prefix, read_required


@dataclass(frozen=True, slots=True)
class ErasureSettings(EnvironmentSettings):
    """Where a person's data lives.

    Attributes
    ----------
    catalog_table : str
        The catalog (its audit records too).
    media_bucket : str
        The bucket of the reference photos and of the results.
    face_collection_id : str
    faces_prefix, results_prefix : str
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset(
        {"CATALOG_TABLE", "MEDIA_BUCKET", "FACE_COLLECTION_ID", "FACES_PREFIX", "RESULTS_PREFIX"}
    )

    catalog_table: str
    media_bucket: str
    face_collection_id: str
    faces_prefix: str = "faces/"
    results_prefix: str = "results/"

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> ErasureSettings:
        """Read the variables from ``env``."""
        return cls(
            catalog_table=read_required(env, "CATALOG_TABLE"),
            media_bucket=read_required(env, "MEDIA_BUCKET"),
            face_collection_id=read_required(env, "FACE_COLLECTION_ID"),
            faces_prefix=read_prefix(env, "FACES_PREFIX", "faces/"),
            results_prefix=read_prefix(env, "RESULTS_PREFIX", "results/"),
        )
