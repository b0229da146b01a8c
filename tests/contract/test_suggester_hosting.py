"""The suggester endpoint's settings are ones SageMaker accepts, by botocore's model."""

from __future__ import annotations

from typing import Any

import botocore.session
from medialens_local.sagemaker_runtime import ERRORS

from tests.support.stack import template


def shape(service: str, name: str) -> Any:
    return botocore.session.get_session().get_service_model(service).shape_for(name)


def parameter(name: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Parameters"][name]
    return found


def test_serverless_memory_is_a_whole_number_of_gigabytes_within_the_api_bounds() -> None:
    bounds = shape("sagemaker", "ServerlessMemorySizeInMB").metadata
    allowed = parameter("SuggesterMemorySizeInMB")["AllowedValues"]

    assert allowed == list(range(bounds["min"], bounds["max"] + 1, 1024))


def test_serverless_concurrency_bounds_are_the_apis() -> None:
    bounds = shape("sagemaker", "ServerlessMaxConcurrency").metadata
    declared = parameter("SuggesterMaxConcurrency")

    assert (declared["MinValue"], declared["MaxValue"]) == (bounds["min"], bounds["max"])
    assert bounds["min"] <= declared["Default"] <= bounds["max"]


def test_provisioned_instances_are_real_time_instance_types() -> None:
    enum = set(shape("sagemaker", "ProductionVariantInstanceType").enum)
    declared = parameter("SuggesterInstanceType")

    assert set(declared["AllowedValues"]) <= enum
    assert declared["Default"] in declared["AllowedValues"]
    count = shape("sagemaker", "ProductionVariant").members["InitialInstanceCount"].metadata
    assert parameter("SuggesterInstanceCount")["MinValue"] >= count["min"]


def test_hosting_is_off_unless_asked_for() -> None:
    declared = parameter("SuggesterHosting")

    assert declared["Default"] == "Disabled"
    assert declared["AllowedValues"] == ["Disabled", "Serverless", "Provisioned"]


def test_the_local_runtimes_errors_are_invoke_endpoints_with_their_status() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    modelled = {
        error.name: error.metadata["error"]["httpStatusCode"]
        for error in model.operation_model("InvokeEndpoint").error_shapes
    }

    assert set(ERRORS) - set(modelled) == {"ThrottlingException", "UnknownOperationException"}
    for code in set(ERRORS) & set(modelled):
        assert ERRORS[code] == modelled[code], code
