"""The Spark job is tested on what the template's EMR release runs, with what it installs."""

from __future__ import annotations

import re

from tests.support.stack import ROOT, template

# EMR Release Guide, "Spark release history" (Spark 3.5.5-amzn-1 in emr-7.10.0):
# https://docs.aws.amazon.com/emr/latest/ReleaseGuide/Spark-release-history.html
SPARK_OF_RELEASE = {"emr-7.10.0": "3.5.5"}


def requirement_lines(name: str) -> list[str]:
    text = (ROOT / "jobs" / name).read_text()
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def test_the_parity_tests_run_the_spark_of_the_default_emr_release() -> None:
    release = template()["Parameters"]["EmrReleaseLabel"]["Default"]
    assert f"pyspark=={SPARK_OF_RELEASE[release]}" in requirement_lines(
        "requirements-emr-tests.txt"
    )


def test_the_parity_tests_install_what_the_cluster_installs() -> None:
    assert "-r requirements-emr.txt" in requirement_lines("requirements-emr-tests.txt")


def test_the_cluster_installs_exact_versions_which_its_bootstrap_then_checks() -> None:
    for line in requirement_lines("requirements-emr.txt"):
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line
