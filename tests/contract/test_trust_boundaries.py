"""Prefixes of the media bucket are trust boundaries: each is written only by its owners.

The bucket policy denies s3:PutObject on a protected prefix to every principal but the
stack's roles that write it. Which roles write where is read off their own IAM grants, so
a role that gains a write elsewhere fails here until the policy names it (or the deploy
would break with AccessDenied), and a role the policy names without a grant fails too.
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.stack import as_list, resource, template

PROTECTED = (
    "results/",
    "jobs/",
    "emr-tls/",
    "models/",
    "exports/",
    "mining/",
    "emr-logs/",
    "transforms/",
)
BUCKET_OBJECTS = re.compile(r"-media-\$\{AWS::AccountId\}-\$\{AWS::Region\}/(?P<path>.*)$")


def policy_statements() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = resource("MediaBucketPolicy")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    return found


def deny_of(prefix: str) -> dict[str, Any]:
    for statement in policy_statements():
        if "Fn::If" in statement or statement.get("Action") != "s3:PutObject":
            continue
        paths = [BUCKET_OBJECTS.search(r["Fn::Sub"]) for r in as_list(statement["Resource"])]
        if any(match and match["path"] == f"{prefix}*" for match in paths):
            return statement
    raise AssertionError(f"no statement protects {prefix}")


def writers_granted(prefix: str) -> set[str]:
    """The template's roles whose own IAM grants allow s3:PutObject under ``prefix``."""
    writers = set()
    for name, body in template()["Resources"].items():
        if body["Type"] != "AWS::IAM::Role":
            continue
        documents = [p["PolicyDocument"] for p in body["Properties"].get("Policies", [])]
        documents += [
            resource(arn["Ref"])["Properties"]["PolicyDocument"]
            for arn in body["Properties"].get("ManagedPolicyArns", [])
            if isinstance(arn, dict) and "Ref" in arn  # the stack's own; EMR's service policy aside
        ]
        for document in documents:
            for statement in document["Statement"]:
                statement = statement["Fn::If"][1] if "Fn::If" in statement else statement
                if statement["Effect"] != "Allow" or "s3:PutObject" not in as_list(
                    statement["Action"]
                ):
                    continue
                for target in as_list(statement["Resource"]):
                    match = BUCKET_OBJECTS.search(str(target.get("Fn::Sub", "")))
                    if match and (match["path"].startswith(prefix) or match["path"] == "*"):
                        writers.add(name)
    return writers


def test_each_protected_prefix_is_written_by_exactly_the_roles_granted_to_write_it() -> None:
    for prefix in PROTECTED:
        deny = deny_of(prefix)
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == "*"
        excepted = {
            arn["Fn::GetAtt"][0]
            for arn in as_list(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
        }
        assert excepted == writers_granted(prefix), prefix
        assert excepted, f"{prefix}: nobody may write it, yet the stack does"


def test_the_uploads_prefix_is_left_to_the_deployer() -> None:
    for statement in policy_statements():
        text = str(statement)
        assert "UploadsPrefix" not in text


def test_faces_are_written_only_by_the_enrolment_role_and_by_nobody_without_one() -> None:
    [faces] = [s["Fn::If"] for s in policy_statements() if "Fn::If" in s]
    condition, with_role, without_role = faces
    assert condition == "HasFaceEnrolmentRole"
    for statement in (with_role, without_role):
        assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
            "Deny",
            "*",
            "s3:PutObject",
        )
        assert statement["Resource"]["Fn::Sub"].endswith("/${FacesPrefix}*")
    assert with_role["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Ref": "FaceEnrolmentRoleArn"}}
    }
    assert "Condition" not in without_role
    assert not writers_granted("${FacesPrefix}"), "no role of the stack writes faces/"
