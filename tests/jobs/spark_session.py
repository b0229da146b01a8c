"""The Spark session fixture, a plugin of its own.

The root conftest loads it for the main test run; `make test-emr-spark` loads it alone
(``--noconftest -p tests.jobs.spark_session``) in an environment with only what EMR's
cluster has, where the root conftest's imports (moto, the medialens package) are absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (one core) for every test that runs the Spark job."""
    from jobs import label_mining

    session = label_mining.session("local[1]", app_name="medialens-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
