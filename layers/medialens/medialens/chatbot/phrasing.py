"""Wording helpers for the bot's answers, and the lengths those answers keep to."""

from __future__ import annotations

from collections.abc import Sequence

from medialens.catalog.models import MediaSummary
from medialens.chatbot.channels import cut

DISPLAY_NAME_LIMIT = 160
"""Longest media id shown in a listed result; longer ones keep their start and end."""


def spoken_name(summary: MediaSummary) -> str:
    """Name a media the way it is read out: no extension, no dashes or underscores.

    Parameters
    ----------
    summary : MediaSummary

    Returns
    -------
    str
        The file name without its extension, with ``-`` and ``_`` as spaces, shortened to
        ``DISPLAY_NAME_LIMIT``.
    """
    name = summary.display_name.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")
    return shortened(name, DISPLAY_NAME_LIMIT)


def shortened(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters, keeping its start and end.

    Parameters
    ----------
    text : str
    limit : int

    Returns
    -------
    str
        ``text`` itself when it fits, else its start and end around ``...``.
    """
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def quoted(text: str, limit: int = 80) -> str:
    """Shorten what the user said before echoing it back.

    Parameters
    ----------
    text : str
    limit : int, optional
        Longest text echoed; a longer one is cut and ends with ``...``.

    Returns
    -------
    str
    """
    return cut(text, limit)


def result_count(results: int) -> str:
    """Count results in words: "1 result", "3 results".

    Parameters
    ----------
    results : int

    Returns
    -------
    str
    """
    return f"{results} result" if results == 1 else f"{results} results"


def join(words: Sequence[str]) -> str:
    """Join words as a sentence lists them: "a, b and c".

    Parameters
    ----------
    words : Sequence[str]

    Returns
    -------
    str
    """
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def first(values: Sequence[str], count: int) -> list[str]:
    """Keep the first ``count`` values, and say how many more there are.

    Parameters
    ----------
    values : Sequence[str]
    count : int

    Returns
    -------
    list[str]
        The first ``count`` values, then "N more" when some were left out.
    """
    shown = list(values[:count])
    if len(values) > count:
        shown.append(f"{len(values) - count} more")
    return shown


def count_fitting(items: Sequence[str], limit: int) -> int:
    """Count the items (at least one) that fit in ``limit`` characters with their framing.

    Parameters
    ----------
    items : Sequence[str]
    limit : int

    Returns
    -------
    int
    """
    used = 0
    for count, item in enumerate(items, start=1):
        used += len(item) + 8
        if used > limit:
            return max(1, count - 1)
    return len(items)
