"""Entry point for the Lex V2 bot's code hooks (dialog and fulfilment)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from medialens.chatbot.dialog import respond_wired
from medialens.chatbot.ports import ChatPorts
from medialens.chatbot.settings import ChatbotSettings
from medialens.chatbot.wiring import chat_ports
from medialens.shared.observability import logger, metrics, tracer


@cache
def _ports(settings: ChatbotSettings) -> ChatPorts:
    return chat_ports(settings)


def _wiring() -> tuple[ChatPorts, ChatbotSettings]:
    settings = ChatbotSettings.from_env()
    return _ports(settings), settings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one Lex V2 code-hook call in Lex's response format."""
    return respond_wired(event, wiring=_wiring, today=datetime.now(UTC).date())
