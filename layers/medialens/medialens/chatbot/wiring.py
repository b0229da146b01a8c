"""Composition root of the chatbot: production adapters, once per sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medialens.chatbot.settings import ChatbotSettings

if TYPE_CHECKING:
    from medialens.chatbot.ports import ChatPorts


def chat_ports(settings: ChatbotSettings) -> ChatPorts:
    """Build the boto3-backed ports of the chatbot.

    Parameters
    ----------
    settings : ChatbotSettings

    Returns
    -------
    ChatPorts
    """
    from medialens.catalog.search import DynamoDBCatalogSearch, S3LinkSigner
    from medialens.chatbot.ports import ChatPorts
    from medialens.shared.aws import dynamodb_chat_resource
    from medialens.workflows.related_labels import DynamoDBRelatedLabels

    # Both read the catalog table with the chatbot's fail-fast policy: Lex is waiting.
    resource = dynamodb_chat_resource()
    return ChatPorts(
        catalog=DynamoDBCatalogSearch(settings.catalog_table, resource=resource),
        links=S3LinkSigner(),
        related=DynamoDBRelatedLabels(settings.catalog_table, resource=resource),
    )
