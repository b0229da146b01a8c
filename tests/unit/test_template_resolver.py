"""The local stack resolves the template's intrinsic functions as CloudFormation does."""

from __future__ import annotations

import pytest
from medialens_local.template import Resolver

from tests.support.stack import resource, template


def resolver(region: str = "eu-west-1") -> Resolver:
    return Resolver(stack_name="medialens", account_id="123456789012", region=region)


@pytest.mark.parametrize(
    ("region", "account"), [("eu-west-1", "141502667606"), ("ap-southeast-2", "783357654285")]
)
def test_the_inference_image_comes_from_the_regions_mapping(region: str, account: str) -> None:
    """A !Sub with its own variables, one of them a !FindInMap on the Region."""
    declared = resource("BatchTransformStateMachine")["Properties"]["DefinitionSubstitutions"]
    version = template()["Parameters"]["InferenceImageVersion"]["Default"]

    image = resolver(region).resolve(declared["InferenceImage"])

    assert image == f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{version}"


def test_a_sub_variable_shadows_a_parameter_of_the_same_name() -> None:
    value = {"Fn::Sub": ["${NamePrefix}/${AWS::Region}", {"NamePrefix": "given"}]}

    assert resolver().resolve(value) == "given/eu-west-1"


def test_an_intrinsic_the_local_stack_does_not_evaluate_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported intrinsic"):
        resolver().resolve({"Fn::ImportValue": "elsewhere"})


def test_an_overridden_parameter_reaches_the_functions_environment() -> None:
    default = template()["Parameters"]["RekognitionTpsQuotas"]["Default"]
    overridden = resolver()
    overridden.parameters["RekognitionTpsQuotas"] = "DetectLabels=50"

    assert resolver().function_environment("AnalyzeMediaFunction")["REKOGNITION_TPS"] == default
    environment = overridden.function_environment("AnalyzeMediaFunction")
    assert environment["REKOGNITION_TPS"] == "DetectLabels=50"
