"""SageMaker's control plane for the suggester's endpoint (boto3)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from medialens.shared.aws import sagemaker_client
from medialens.workflows.endpoint import ServedModel


def _absent(error: ClientError) -> bool:
    """Tell whether SageMaker said the endpoint, configuration or model does not exist.

    It answers a ValidationException whose message says "Could not find ...".
    """
    details: Any = error.response.get("Error", {})
    return (
        details.get("Code") == "ValidationException"
        and "could not find" in str(details.get("Message", "")).lower()
    )


class SageMakerEndpointAdmin:
    """Describes and deletes endpoints, endpoint configurations and models."""

    def __init__(self, client: Any = None) -> None:
        self._client = client or sagemaker_client()

    def served(self, endpoint_name: str) -> ServedModel | None:
        """DescribeEndpoint, then DescribeEndpointConfig for its models."""
        try:
            endpoint = self._client.describe_endpoint(EndpointName=endpoint_name)
        except ClientError as error:
            if _absent(error):
                return None
            raise
        config = str(endpoint["EndpointConfigName"])
        try:
            described = self._client.describe_endpoint_config(EndpointConfigName=config)
        except ClientError as error:
            if _absent(error):
                return ServedModel(config, ())
            raise
        models = tuple(str(v["ModelName"]) for v in described.get("ProductionVariants", []))
        return ServedModel(config, models)

    def delete_endpoint(self, endpoint_name: str) -> None:
        """DeleteEndpoint."""
        self._quietly(self._client.delete_endpoint, EndpointName=endpoint_name)

    def delete_endpoint_config(self, config_name: str) -> None:
        """DeleteEndpointConfig."""
        self._quietly(self._client.delete_endpoint_config, EndpointConfigName=config_name)

    def delete_model(self, model_name: str) -> None:
        """DeleteModel."""
        self._quietly(self._client.delete_model, ModelName=model_name)

    @staticmethod
    def _quietly(call: Any, **params: str) -> None:
        try:
            call(**params)
        except ClientError as error:
            if not _absent(error):
                raise
