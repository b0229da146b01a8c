"""What the stack writes in its bucket is kept for a bounded time (lifecycle rules)."""

from __future__ import annotations

from typing import Any

from tests.support.stack import resource, template

WORKFLOW_PREFIXES = {
    "exports/": "ExportsRetentionDays",
    "mining/": "MiningRetentionDays",
    "transforms/": "TransformsRetentionDays",
    "emr-logs/": "EmrLogsRetentionDays",
}
"""What the workflows write, run after run, and the parameter that bounds each."""
KEPT = ("uploads/", "faces/", "models/", "jobs/", "emr-tls/", "results/")
"""Kept until deleted: the library itself, the model serving, the deployed job files."""


def rules() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = resource("MediaBucket")["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    return found


def test_every_prefix_the_workflows_write_expires_after_its_parameter() -> None:
    expiring = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules() if "Prefix" in rule}
    assert expiring == {prefix: {"Ref": name} for prefix, name in WORKFLOW_PREFIXES.items()}
    assert not any(prefix.startswith(KEPT) for prefix in expiring)
    for name in WORKFLOW_PREFIXES.values():
        assert name in template()["Parameters"]


def written_folders(node: Any) -> set[str]:
    """The folder list the template's Rules keep the uploads and faces prefixes out of."""
    if isinstance(node, list) and "results/" in node:
        return set(node)
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return set().union(*(written_folders(child) for child in children))


def test_each_folder_the_stack_writes_either_expires_or_is_kept_on_purpose() -> None:
    written = written_folders(template()["Rules"])
    assert written == set(WORKFLOW_PREFIXES) | (set(KEPT) - {"uploads/", "faces/"})


def test_old_versions_and_lone_delete_markers_do_not_accumulate() -> None:
    by_id = {rule["Id"]: rule for rule in rules()}
    assert by_id["ExpireOldVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "NoncurrentVersionRetentionDays"}
    }
    lone = by_id["RemoveLoneDeleteMarkers"]
    # S3 refuses ExpiredObjectDeleteMarker beside Days or Date in one rule.
    assert lone["ExpiredObjectDeleteMarker"] is True
    assert not {"ExpirationInDays", "ExpirationDate"} & set(lone)
    assert all(rule["Status"] == "Enabled" for rule in rules())
