from __future__ import annotations

import pytest
from medialens.images.settings import ImageAnalysisSettings
from medialens.shared.errors import ConfigurationError

REQUIRED = {
    "CATALOG_TABLE": "catalog",
    "IDEMPOTENCY_TABLE": "idempotency",
    "RESULTS_BUCKET": "bucket",
    "ALERTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts",
    "FACE_COLLECTION_ID": "faces",
}


def test_defaults_follow_the_template_defaults() -> None:
    settings = ImageAnalysisSettings.from_env(REQUIRED)

    assert settings.features.labels
    assert settings.features.face_search
    assert settings.custom_labels_arn is None
    assert (settings.uploads_prefix, settings.faces_prefix) == ("uploads/", "faces/")
    assert settings.moderation_flag_threshold == 80.0


def test_switches_thresholds_and_prefixes_are_parsed() -> None:
    settings = ImageAnalysisSettings.from_env(
        REQUIRED
        | {
            "ENABLE_TEXT": "false",
            "ENABLE_FACE_SEARCH": "False",
            "MAX_LABELS": "10",
            "MODERATION_FLAG_THRESHOLD": "95.5",
            "FACES_PREFIX": "people",
            "CUSTOM_LABELS_PROJECT_VERSION_ARN": (
                "arn:aws:rekognition:eu-west-1:1:project/p/version/v/1"
            ),
        }
    )

    assert not settings.features.text
    assert not settings.features.face_search
    assert settings.max_labels == 10
    assert settings.moderation_flag_threshold == 95.5
    assert settings.faces_prefix == "people/"
    assert settings.custom_labels_arn is not None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"CATALOG_TABLE": ""}, "CATALOG_TABLE is not set"),
        ({"ENABLE_LABELS": "maybe"}, "ENABLE_LABELS must be true or false"),
        ({"MAX_LABELS": "lots"}, "MAX_LABELS must be a number"),
        ({"FACE_MATCH_THRESHOLD": "101"}, "between 0 and 100"),
        ({"RESULTS_PREFIX": "uploads/results/"}, "overlap"),
        ({"UPLOADS_PREFIX": "results/in/"}, "overlap"),
        ({"FACES_PREFIX": "uploads/faces/"}, "overlap"),
    ],
)
def test_bad_settings_fail_with_the_variable_named(override: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ImageAnalysisSettings.from_env(REQUIRED | override)
