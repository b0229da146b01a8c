from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """The local router sets the handlers' variables process-wide, as Lambda would."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
