"""The label suggester's endpoint removed, with what it serves.

The ML pipeline creates the endpoint and deploys each model to it
(``statemachine/deploy_suggester.asl.json``), so CloudFormation does not know it. The
``SuggesterEndpointCleanup`` custom resource removes it when the stack is deleted, when
hosting is turned off, and when it changes between serverless and provisioned (SageMaker
cannot update one kind into the other; the next pipeline run creates the new kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ServedModel:
    """What an endpoint serves.

    Attributes
    ----------
    config : str
        Its endpoint configuration.
    models : tuple[str, ...]
        The models of that configuration's variants.
    """

    config: str
    models: tuple[str, ...]


class EndpointAdmin(Protocol):
    """SageMaker's control plane for one account and Region."""

    def served(self, endpoint_name: str) -> ServedModel | None:
        """Describe what the endpoint serves; ``None`` when there is no such endpoint."""
        ...

    def delete_endpoint(self, endpoint_name: str) -> None:
        """DeleteEndpoint."""
        ...

    def delete_endpoint_config(self, config_name: str) -> None:
        """DeleteEndpointConfig; one already gone is not an error."""
        ...

    def delete_model(self, model_name: str) -> None:
        """DeleteModel; one already gone is not an error."""
        ...


@dataclass(frozen=True, slots=True)
class EndpointRemoval:
    """What a removal found and deleted."""

    endpoint: str
    removed: bool
    config: str | None = None
    models: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Summarise for the log."""
        return {
            "endpoint": self.endpoint,
            "removed": self.removed,
            "config": self.config,
            "models": list(self.models),
        }


def remove_endpoint(endpoint_name: str, admin: EndpointAdmin) -> EndpointRemoval:
    """Delete the endpoint, then its configuration and models; nothing to do when absent.

    Safe to repeat: a second call finds no endpoint, and a configuration or model
    already gone is not an error.
    """
    served = admin.served(endpoint_name)
    if served is None:
        return EndpointRemoval(endpoint_name, removed=False)
    admin.delete_endpoint(endpoint_name)
    # Deleting the endpoint first: a configuration must not be deleted while in use
    # (SageMaker API Reference, DeleteEndpointConfig).
    admin.delete_endpoint_config(served.config)
    for model in served.models:
        admin.delete_model(model)
    return EndpointRemoval(endpoint_name, removed=True, config=served.config, models=served.models)


def removal_needed(request_type: str, old_hosting: str | None, new_hosting: str) -> bool:
    """Whether a custom-resource request removes the endpoint.

    Delete does (the stack goes, or hosting was turned off). Update does when hosting
    changed kind: SageMaker refuses to update a provisioned endpoint into a serverless
    one and the reverse, so the next pipeline run creates the endpoint anew.
    """
    if request_type == "Delete":
        return True
    return request_type == "Update" and old_hosting is not None and old_hosting != new_hosting
