"""Events as `sam local generate-event` writes them: inputs this project did not shape."""

from __future__ import annotations

import json
from typing import Any

from samcli.lib.generated_sample_events.events import Events  # type: ignore[import-untyped]

from tests.support.stack import REGION


def sam_event(service: str, kind: str, **values: str) -> dict[str, Any]:
    """``sam local generate-event <service> <kind>``, with ``values`` for its options."""
    defaults = {"partition": "aws", "region": REGION}
    return dict(json.loads(Events().generate_event(service, kind, defaults | values)))
