"""Errors raised by medialens.

Expected bad input is a :class:`RejectedMediaError`: it is recorded, logged and
counted, never retried. Anything else propagates so that Lambda's own retries and
on-failure destinations stay in charge.
"""

from __future__ import annotations


class MedialensError(Exception):
    """Base class of every error medialens raises on purpose."""


class ConfigurationError(MedialensError):
    """A setting read from the environment is missing or malformed."""


class RejectedMediaError(MedialensError):
    """Media that cannot be analysed; retrying would not change the outcome.

    Parameters
    ----------
    reason : str
        Short machine-readable reason code, for example ``"unsupported_format"``.
    detail : str
        Human-readable explanation recorded in the catalog and the log.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class FeatureUnavailableError(MedialensError):
    """An optional analysis cannot run now (for example a Custom Labels model that is stopped).

    The rest of the analysis goes on; the gap is noted in the result and counted.
    """


class SupersededError(MedialensError):
    """A newer version of the object is already recorded; this event arrived late.

    Parameters
    ----------
    message : str
    reason : str
        ``superseded`` (a newer version is recorded or current) or ``object_gone`` (the
        object was deleted: its removal event takes care of the catalog).
    """

    def __init__(self, message: str, reason: str = "superseded") -> None:
        super().__init__(message)
        self.reason = reason


class MalformedNotificationError(MedialensError):
    """A message that is not in the shape its source documents; retrying cannot help."""


class QuotaExceededError(MedialensError):
    """Rekognition refused to start a job now (concurrent-job quota or throttling).

    The job waits in the backlog and is started when another job finishes or when the
    sweeper runs; it is never retried in a loop.
    """


class PaginationExpiredError(MedialensError):
    """Rekognition no longer accepts a saved NextToken; collection restarts from page one."""


class StaleJobError(MedialensError):
    """A job's record changed since it was read: another invocation moved it on."""


class MalformedLexEventError(MedialensError):
    """A Lex V2 code-hook event that is not in the documented shape."""


class SuggestionsUnavailableError(MedialensError):
    """The label suggester's endpoint gave no usable answer; the analysis goes on without it.

    Parameters
    ----------
    reason : str
        ``disabled``, ``missing`` (no such endpoint), ``cold`` (the model is not ready),
        ``throttled``, ``timeout``, ``unreachable``, ``failing`` (the service's own
        error) or ``model_error`` (the inference code refused the request).
    detail : str
        What the endpoint or the client said.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
