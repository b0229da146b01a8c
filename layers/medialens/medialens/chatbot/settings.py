"""Settings of the chatbot's fulfilment, parsed from the function's environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from medialens.shared.settings import EnvironmentSettings, read_number, read_prefix, read_required


@dataclass(frozen=True, slots=True)
class ChatbotSettings(EnvironmentSettings):
    """Everything the chatbot's fulfilment needs to know about its deployment.

    Attributes
    ----------
    catalog_table : str
        The catalog it answers from.
    page_size : int
        Most results listed in one answer ("show me more" lists the next ones).
    link_expiry_s : int
        Lifetime of the pre-signed links to the media and their full results.
    scan_budget : int
        Most index pages read for one answer when filters (photos only, since a date)
        skip matches; past it, the answer says how far it got and "more" goes on.
    max_reprompts : int
        Times a slot is asked for again after an answer that cannot be used, before the
        bot gives up politely instead of looping.
    uploads_prefix : str
        Where users drop files; "is beach.mp4 done?" looks there first.
    """

    VARIABLES: ClassVar[frozenset[str]] = frozenset(
        {"CATALOG_TABLE", "UPLOADS_PREFIX", "CHAT_PAGE_SIZE", "CHAT_LINK_EXPIRY_S"}
    )
    """What template.yaml sets for the chatbot's function."""
    TUNABLES: ClassVar[frozenset[str]] = frozenset({"CHAT_SCAN_BUDGET", "CHAT_MAX_REPROMPTS"})
    """Read when set by hand; the defaults below otherwise."""

    catalog_table: str
    page_size: int = 5
    link_expiry_s: int = 300
    scan_budget: int = 5
    max_reprompts: int = 2
    uploads_prefix: str = "uploads/"

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> ChatbotSettings:
        """Read the variables from ``env``."""
        return cls(
            catalog_table=read_required(env, "CATALOG_TABLE"),
            page_size=int(read_number(env, "CHAT_PAGE_SIZE", 5, 1, 25)),
            link_expiry_s=int(read_number(env, "CHAT_LINK_EXPIRY_S", 300, 30, 3600)),
            scan_budget=int(read_number(env, "CHAT_SCAN_BUDGET", 5, 1, 50)),
            max_reprompts=int(read_number(env, "CHAT_MAX_REPROMPTS", 2, 0, 5)),
            uploads_prefix=read_prefix(env, "UPLOADS_PREFIX", "uploads/"),
        )
