from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_endpoint_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget endpoints an offline-stack test set for its handlers: its server is gone."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
