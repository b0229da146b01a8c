"""ONNX Runtime sessions whose worker threads sleep between runs instead of spinning.

By default ONNX Runtime's intra-op threads spin for a while after each run, waiting for
more work (the session option ``session.intra_op.allow_spinning``, on unless set to
``"0"``). The local Rekognition runs four models side by side, on machines with as few as
two cores, so one model's spinning threads take the core the next call (or the handler
sharing the process) needs: after one RapidOCR run, 0.09 s of CPU went to spinning in the
next 0.1 s of idleness. RapidOCR and open_nsfw build their own session options, take no
setting for this, and RapidOCR builds its sessions on first use; so the local service turns
spinning off for every session its process builds (:func:`sessions_sleep_between_runs`).
"""

from __future__ import annotations

import threading
from typing import Any

import onnxruntime

NO_SPINNING = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}
_installing = threading.Lock()


def quiet(options: onnxruntime.SessionOptions | None = None) -> onnxruntime.SessionOptions:
    """``options`` (or new ones) with spinning turned off."""
    options = options or onnxruntime.SessionOptions()
    for key, value in NO_SPINNING.items():
        options.add_session_config_entry(key, value)
    return options


def sessions_sleep_between_runs() -> None:
    """From now on, every ``InferenceSession`` this process builds gets :func:`quiet` options.

    Idempotent; called by each engine before it builds (or may lazily build) a session.
    """
    session_class = onnxruntime.InferenceSession
    with _installing:
        if getattr(session_class, "_medialens_quiet", False):
            return
        build = session_class.__init__

        def build_quietly(
            self: Any, path_or_bytes: Any, sess_options: Any = None, *args: Any, **kwargs: Any
        ) -> None:
            build(self, path_or_bytes, quiet(sess_options), *args, **kwargs)

        session_class.__init__ = build_quietly
        session_class._medialens_quiet = True
