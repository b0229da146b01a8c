"""`make preflight`: each check's answers, against botocore's service models (Stubber)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from medialens.ingest.pacing import RekognitionQuotas, ingest_concurrency
from medialens_local.template import load_template

from scripts import preflight
from scripts.preflight import Check, Options

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SUBNET = "subnet-0a1b2c3d4e5f60718"
VPC = "vpc-0a1b2c3d4e5f60718"
TABLE = "rtb-0a1b2c3d4e5f60718"
ENDPOINT = "vpce-0a1b2c3d4e5f60718"
NAT = "nat-0a1b2c3d4e5f60718"
IGW = "igw-0a1b2c3d4e5f60718"
TAGS = [{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}]
CREATE_TAGS = (
    f"aws ec2 create-tags --resources {SUBNET} {VPC} "
    "--tags Key=for-use-with-amazon-emr-managed-policies,Value=true"
)
LOCAL_ROUTE = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
NAT_ROUTE = {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": NAT, "State": "active"}
IGW_ROUTE = {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": IGW, "State": "active"}
S3_ROUTE = {"DestinationPrefixListId": "pl-6da54004", "GatewayId": ENDPOINT, "State": "active"}
ON_DEMAND = "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
SPOT = "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"
REKOGNITION_JOBS = "Concurrent Amazon Rekognition Video stored video jobs per account"
TRANSFORM = "ml.m5.large for transform job usage"
# The quota codes of Rekognition's image operations in Service Quotas (see REKOGNITION_TPS_QUOTA).
TPS_CODES = {
    "DetectLabels": "L-E29B542B",
    "DetectText": "L-87CF5BA6",
    "DetectFaces": "L-A5121FD7",
    "DetectModerationLabels": "L-7F4D1AC4",
    "SearchFacesByImage": "L-43CBEB68",
    "IndexFaces": "L-7C13EBAD",
    "SearchFaces": "L-99829151",
    "DeleteFaces": "L-220834FB",
}

Stub = Callable[[str], tuple[Any, Stubber]]


@pytest.fixture
def stub() -> Iterator[Stub]:
    """Real clients of ``eu-west-1`` whose every call must have been queued by the test."""
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        client: Any = boto3.session.Session().client(service, region_name=REGION)  # type: ignore[call-overload]
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def fail_before_sending(client: Any, stubber: Stubber, error: Exception) -> None:
    """Make every call of ``client`` raise ``error`` as botocore would, before any request."""

    def handler(**_: Any) -> None:
        raise error

    stubber.deactivate()
    client.meta.events.register("before-call", handler)


def denied(stubber: Stubber, method: str, code: str = "AccessDeniedException") -> None:
    stubber.add_client_error(method, service_error_code=code, http_status_code=403)


def endpoint(route_tables: list[str], state: str = "available") -> dict[str, Any]:
    return {
        "VpcEndpointId": ENDPOINT,
        "VpcEndpointType": "Gateway",
        "VpcId": VPC,
        "ServiceName": f"com.amazonaws.{REGION}.s3",
        "State": state,
        "RouteTableIds": route_tables,
    }


def subnet_answers(
    ec2: Stubber,
    *,
    vpc_tags: list[dict[str, str]] = TAGS,
    routes: list[dict[str, str]] | None = None,
    endpoints: list[dict[str, Any]] | None = None,
    own_table: bool = True,
) -> None:
    """EC2's answers about :data:`SUBNET`: by default tagged, S3 endpoint and NAT routes."""
    subnet = {"SubnetId": SUBNET, "VpcId": VPC, "AvailabilityZone": "eu-west-1a", "Tags": TAGS}
    ec2.add_response("describe_subnets", {"Subnets": [subnet]}, {"SubnetIds": [SUBNET]})
    ec2.add_response(
        "describe_vpcs", {"Vpcs": [{"VpcId": VPC, "Tags": vpc_tags}]}, {"VpcIds": [VPC]}
    )
    table = {
        "RouteTableId": TABLE,
        "VpcId": VPC,
        "Routes": [LOCAL_ROUTE, S3_ROUTE, NAT_ROUTE] if routes is None else routes,
    }
    by_subnet = {"Filters": [{"Name": "association.subnet-id", "Values": [SUBNET]}]}
    ec2.add_response(
        "describe_route_tables", {"RouteTables": [table] if own_table else []}, by_subnet
    )
    if not own_table:
        main = {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        }
        ec2.add_response("describe_route_tables", {"RouteTables": [table]}, main)
    ec2.add_response(
        "describe_vpc_endpoints",
        {"VpcEndpoints": [endpoint([TABLE])] if endpoints is None else endpoints},
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "service-name", "Values": [f"com.amazonaws.{REGION}.s3"]},
                {"Name": "vpc-endpoint-type", "Values": ["Gateway"]},
            ]
        },
    )


def quota(service: str, code: str, name: str, value: float) -> dict[str, Any]:
    return {"ServiceCode": service, "QuotaCode": code, "QuotaName": name, "Value": value}


def quota_answers(
    quotas: Stubber, *, transform: float = 2, video_jobs: float = 20, on_demand: float = 32
) -> None:
    """Applied values for SageMaker and EC2; Rekognition's only among the AWS defaults."""
    listing = {
        "sagemaker": [quota("sagemaker", "L-TRANSFORM", TRANSFORM, transform)],
        "rekognition": [],
        "ec2": [
            quota("ec2", "L-1216C47A", ON_DEMAND, on_demand),
            quota("ec2", "L-34B43A08", SPOT, 64),
        ],
    }
    for service, found in listing.items():
        quotas.add_response("list_service_quotas", {"Quotas": found}, {"ServiceCode": service})
        if service == "rekognition":
            defaults = [quota("rekognition", "L-VIDEOJOBS", REKOGNITION_JOBS, video_jobs)]
            quotas.add_response(
                "list_aws_default_service_quotas", {"Quotas": defaults}, {"ServiceCode": service}
            )


def tps_quota(operation: str, value: float) -> dict[str, Any]:
    name = (
        "Transactions per second per account for the Amazon Rekognition Image operation "
        f"{operation}"
    )
    return quota("rekognition", TPS_CODES[operation], name, value)


def tps_answers(
    quotas: Stubber, applied: dict[str, float], defaults: dict[str, float] | None = None
) -> None:
    """Rekognition's listings: ``applied`` values, then (when given) the AWS defaults."""
    expected = {"ServiceCode": "rekognition"}
    found = [tps_quota(operation, value) for operation, value in applied.items()]
    quotas.add_response("list_service_quotas", {"Quotas": found}, expected)
    if defaults is not None:
        found = [tps_quota(operation, value) for operation, value in defaults.items()]
        quotas.add_response("list_aws_default_service_quotas", {"Quotas": found}, expected)


def every_operation(tps: float) -> dict[str, float]:
    return dict.fromkeys(TPS_CODES, tps)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_supported_region_passes() -> None:
    assert preflight.check_region(REGION).status == "ok"


def test_another_region_fails_naming_the_supported_ones() -> None:
    check = preflight.check_region("sa-east-1")
    assert check.status == "fail"
    assert "medialens deploys only to: us-east-1, us-west-2" in check.detail
    assert "Lex V2 or Rekognition face collections" in check.detail
    assert "--region us-east-1" in check.fix


def test_credentials_give_the_account(stub: Stub) -> None:
    sts, stubber = stub("sts")
    identity = {
        "UserId": "AIDAEXAMPLE",
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev",
    }
    stubber.add_response("get_caller_identity", identity, {})
    check, account = preflight.check_credentials(sts)
    assert (check.status, account) == ("ok", ACCOUNT)


def test_rejected_credentials_fail(stub: Stub) -> None:
    sts, stubber = stub("sts")
    stubber.add_client_error("get_caller_identity", "ExpiredToken", http_status_code=403)
    check, account = preflight.check_credentials(sts)
    assert (check.status, account) == ("fail", None)
    assert "aws configure" in check.fix
    assert "AWS_PROFILE" in check.fix


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (NoCredentialsError(), "aws configure"),
        (EndpointConnectionError(endpoint_url="https://sts.invalid"), "check your network"),
    ],
)
def test_missing_credentials_or_network_fail(stub: Stub, error: Exception, fix: str) -> None:
    sts, stubber = stub("sts")
    fail_before_sending(sts, stubber, error)
    check, account = preflight.check_credentials(sts)
    assert (check.status, account) == ("fail", None)
    assert fix in check.fix


@pytest.mark.parametrize(
    ("service", "method", "request_", "response", "action"),
    [
        ("lexv2-models", "list_bots", {"maxResults": 1}, {"botSummaries": []}, "lex:ListBots"),
        (
            "rekognition",
            "list_collections",
            {"MaxResults": 1},
            {"CollectionIds": []},
            "rekognition:ListCollections",
        ),
    ],
)
def test_service_answers(
    stub: Stub,
    service: str,
    method: str,
    request_: dict[str, Any],
    response: dict[str, Any],
    action: str,
) -> None:
    check = preflight.check_lex if service == "lexv2-models" else preflight.check_rekognition
    client, stubber = stub(service)
    stubber.add_response(method, response, request_)
    assert check(client, REGION).status == "ok"

    denied(stubber, method)
    refused = check(client, REGION)
    assert (refused.status, refused.detail) == (
        "warn",
        f"cannot check: missing permission {action}",
    )

    fail_before_sending(
        client, stubber, EndpointConnectionError(endpoint_url="https://example.invalid")
    )
    absent = check(client, REGION)
    assert (absent.status, absent.detail) == ("fail", f"not offered in {REGION}")


def test_a_ready_subnet_passes(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(stubber)
    checks = by_name(preflight.check_subnet(ec2, REGION, SUBNET))
    assert {name: check.status for name, check in checks.items()} == {
        "emr subnet": "ok",
        "emr tags": "ok",
        "emr s3 route": "ok",
        "emr pypi route": "ok",
    }
    assert ENDPOINT in checks["emr s3 route"].detail
    assert NAT in checks["emr pypi route"].detail


def test_an_unknown_subnet_fails(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    stubber.add_client_error("describe_subnets", "InvalidSubnetID.NotFound", http_status_code=400)
    [check] = preflight.check_subnet(ec2, REGION, SUBNET)
    assert (check.status, check.detail) == ("fail", f"{SUBNET}: subnet not found in {REGION}")
    assert "aws ec2 describe-subnets --region eu-west-1" in check.fix


def test_a_subnet_without_permission_warns(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    denied(stubber, "describe_subnets", "UnauthorizedOperation")
    [check] = preflight.check_subnet(ec2, REGION, SUBNET)
    assert (check.status, check.detail) == (
        "warn",
        "cannot check: missing permission ec2:DescribeSubnets",
    )


def test_each_ec2_permission_missing_warns_with_its_action(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet = {"SubnetId": SUBNET, "VpcId": VPC, "AvailabilityZone": "eu-west-1a", "Tags": TAGS}
    stubber.add_response("describe_subnets", {"Subnets": [subnet]})
    denied(stubber, "describe_vpcs", "UnauthorizedOperation")
    table = {"RouteTableId": TABLE, "VpcId": VPC, "Routes": [LOCAL_ROUTE, NAT_ROUTE]}
    stubber.add_response("describe_route_tables", {"RouteTables": [table]})
    denied(stubber, "describe_vpc_endpoints", "UnauthorizedOperation")
    denied(stubber, "describe_subnets", "UnauthorizedOperation")
    checks = by_name(preflight.check_subnet(ec2, REGION, SUBNET))
    assert {name: (check.status, check.detail) for name, check in checks.items()} == {
        "emr subnet": ("ok", f"{SUBNET} in {VPC} (eu-west-1a)"),
        "emr tags": ("warn", "cannot check: missing permission ec2:DescribeVpcs"),
        "emr s3 route": ("warn", "cannot check: missing permission ec2:DescribeVpcEndpoints"),
        "emr pypi route": ("ok", f"{TABLE}: 0.0.0.0/0 via {NAT}"),
    }
    unlisted = preflight.check_no_subnet(ec2)
    assert unlisted.status == "warn"
    assert unlisted.detail.endswith("cannot check: missing permission ec2:DescribeSubnets")


def test_an_untagged_vpc_fails_with_the_create_tags_command(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(
        stubber, vpc_tags=[{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "false"}]
    )
    check = by_name(preflight.check_subnet(ec2, REGION, SUBNET))["emr tags"]
    assert check.status == "fail"
    assert check.detail.startswith(f"{VPC} lack")
    assert check.fix == CREATE_TAGS


def test_a_private_subnet_without_routes_fails_on_s3_and_warns_on_pypi(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(stubber, routes=[LOCAL_ROUTE], endpoints=[])
    checks = by_name(preflight.check_subnet(ec2, REGION, SUBNET))
    s3, pypi = checks["emr s3 route"], checks["emr pypi route"]
    assert s3.status == "fail"
    assert s3.fix == (
        f"aws ec2 create-vpc-endpoint --vpc-id {VPC} --vpc-endpoint-type Gateway "
        f"--service-name com.amazonaws.{REGION}.s3 --route-table-ids {TABLE}"
    )
    assert pypi.status == "warn"
    assert (
        "the EMR bootstrap action needs PyPI: add a NAT gateway route or the label-mining "
        "workflow's clusters fail to bootstrap"
    ) in pypi.detail
    assert pypi.fix.startswith(f"aws ec2 create-route --route-table-id {TABLE} ")


def test_an_s3_endpoint_on_another_table_is_added_to_this_one(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(stubber, routes=[LOCAL_ROUTE], endpoints=[endpoint(["rtb-0ther"])])
    check = by_name(preflight.check_subnet(ec2, REGION, SUBNET))["emr s3 route"]
    assert check.status == "fail"
    assert check.fix == (
        f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {ENDPOINT} --add-route-table-ids {TABLE}"
    )


def test_the_main_route_table_and_an_internet_gateway_route_do(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(stubber, own_table=False, routes=[LOCAL_ROUTE, IGW_ROUTE], endpoints=[])
    checks = by_name(preflight.check_subnet(ec2, REGION, SUBNET))
    assert checks["emr s3 route"].status == checks["emr pypi route"].status == "ok"
    assert IGW in checks["emr s3 route"].detail


def test_a_blackholed_nat_route_is_no_route(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    subnet_answers(stubber, routes=[LOCAL_ROUTE, S3_ROUTE, NAT_ROUTE | {"State": "blackhole"}])
    checks = by_name(preflight.check_subnet(ec2, REGION, SUBNET))
    assert checks["emr s3 route"].status == "ok"
    assert checks["emr pypi route"].status == "warn"


def test_without_a_subnet_tagged_subnets_are_suggested(stub: Stub) -> None:
    ec2, stubber = stub("ec2")
    tagged = {
        "Filters": [{"Name": "tag:for-use-with-amazon-emr-managed-policies", "Values": ["true"]}]
    }
    subnet = {"SubnetId": SUBNET, "VpcId": VPC, "AvailabilityZone": "eu-west-1b"}
    stubber.add_response("describe_subnets", {"Subnets": [subnet]}, tagged | {"MaxResults": 5})
    stubber.add_response("describe_subnets", {"Subnets": []}, tagged | {"MaxResults": 5})
    found, none = preflight.check_no_subnet(ec2), preflight.check_no_subnet(ec2)
    assert found.status == none.status == "warn"
    assert "the template requires EmrSubnetId" in found.detail
    assert f"{SUBNET} ({VPC})" in found.detail
    assert "no subnet is tagged for EMR" in none.detail
    assert "--subnet" in found.fix


def test_quotas_that_cover_the_defaults_pass(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    quota_answers(stubber)
    checks = preflight.check_quotas(quotas, preflight.quota_needs(Options()))
    assert [check.status for check in checks] == ["ok"] * 4
    assert by_name(checks)["quota rekognition video jobs"].detail == (
        f"{REKOGNITION_JOBS} = 20, needed 1"
    )


def test_low_quotas_warn_with_the_increase_request(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    quota_answers(stubber, transform=0, video_jobs=5, on_demand=8)
    checks = by_name(preflight.check_quotas(quotas, preflight.quota_needs(Options())))
    assert {name: check.status for name, check in checks.items()} == {
        "quota sagemaker transform": "warn",
        "quota rekognition video jobs": "warn",
        "quota emr on-demand vcpus": "warn",
        "quota emr spot vcpus": "ok",
    }
    assert checks["quota sagemaker transform"].detail == f"{TRANSFORM} = 0, needed 1"
    assert checks["quota sagemaker transform"].fix == (
        "aws service-quotas request-service-quota-increase --service-code sagemaker "
        "--quota-code L-TRANSFORM --desired-value 1"
    )
    assert (
        "the video backlog will start fewer jobs at once"
        in checks["quota rekognition video jobs"].detail
    )
    assert checks["quota rekognition video jobs"].fix.endswith("--desired-value 20")
    assert checks["quota emr on-demand vcpus"].fix.endswith(
        "--service-code ec2 --quota-code L-1216C47A --desired-value 12"
    )


def test_quotas_read_every_page_and_warn_when_one_is_nowhere(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    stubber.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stubber.add_response(
        "list_aws_default_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"}
    )
    first = {"Quotas": [quota("ec2", "L-1216C47A", ON_DEMAND, 32)], "NextToken": "page-2"}
    stubber.add_response("list_service_quotas", first, {"ServiceCode": "ec2"})
    second = {"Quotas": [quota("ec2", "L-34B43A08", SPOT, 64)]}
    stubber.add_response(
        "list_service_quotas", second, {"ServiceCode": "ec2", "NextToken": "page-2"}
    )
    needs = [
        need for need in preflight.quota_needs(Options()) if need.service_code != "rekognition"
    ]
    checks = by_name(preflight.check_quotas(quotas, needs))
    assert checks["quota emr spot vcpus"].status == "ok"
    missing = checks["quota sagemaker transform"]
    assert missing.status == "warn"
    assert missing.detail == (
        f"could not read quota {TRANSFORM}; check it in the Service Quotas console"
    )


def test_quotas_without_permission_warn_with_the_action(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    denied(stubber, "list_service_quotas")
    needs = [need for need in preflight.quota_needs(Options()) if need.service_code == "ec2"]
    checks = preflight.check_quotas(quotas, needs)
    assert [(check.status, check.detail) for check in checks] == [
        ("warn", "cannot check: missing permission servicequotas:ListServiceQuotas")
    ] * 2


def test_the_transform_options_set_the_quota_looked_for() -> None:
    [transform, *_] = preflight.quota_needs(
        Options(transform_instance_type="ml.c5.xlarge", transform_instance_count=3)
    )
    assert (transform.names, transform.needed) == (("ml.c5.xlarge for transform job usage",), 3)


DEFAULT_TPS = (
    "DetectLabels=5,DetectText=5,DetectFaces=5,DetectModerationLabels=5,"
    "SearchFacesByImage=5,IndexFaces=5,SearchFaces=5,DeleteFaces=5"
)


def tps_check(quotas: Any, **options: Any) -> Check:
    return preflight.check_rekognition_tps(quotas, Options(**options))


def test_the_tps_check_reads_every_operation_of_the_template_default() -> None:
    assert preflight.tps_operations(Options()) == list(TPS_CODES)
    assert preflight.template_default("RekognitionTpsQuotas") == DEFAULT_TPS
    more = Options(rekognition_tps=f"{DEFAULT_TPS},DetectCustomLabels=5")
    assert preflight.tps_operations(more) == [*TPS_CODES, "DetectCustomLabels"]


def test_applied_tps_quotas_that_match_the_default_pass_without_the_defaults(
    stub: Stub,
) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, every_operation(5))
    check = tps_check(quotas)
    assert check.status == "ok"
    assert check.detail.startswith(
        "RekognitionTpsQuotas and IngestMaxConcurrency=5 match the account (applied: "
        "DetectLabels, DetectText,"
    )
    assert check.detail.endswith("the ingest fleet spends 95% of each")


def test_tps_quotas_only_among_the_aws_defaults_are_read_there(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, {}, every_operation(5))
    check = tps_check(quotas)
    assert (check.status, check.detail) == (
        "ok",
        "RekognitionTpsQuotas and IngestMaxConcurrency=5 match the account (AWS defaults); "
        "the ingest fleet spends 95% of each",
    )


def test_an_account_that_allows_more_gets_the_parameters_that_use_it(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    applied = {"DetectLabels": 50, "DetectText": 50.5}
    tps_answers(stubber, applied, every_operation(5) | {"DetectLabels": 5})
    check = tps_check(quotas)
    fitted = (
        "DetectLabels=50,DetectText=50.5,DetectFaces=5,DetectModerationLabels=5,"
        "SearchFacesByImage=5,IndexFaces=5,SearchFaces=5,DeleteFaces=5"
    )
    assert (check.status, check.detail) == (
        "ok",
        "the account allows more (applied: DetectLabels, DetectText; AWS defaults otherwise): "
        f"deploy with RekognitionTpsQuotas={fitted} IngestMaxConcurrency=5 to use it; "
        "the ingest fleet spends 95% of each",
    )
    pattern = load_template()["Parameters"]["RekognitionTpsQuotas"]["AllowedPattern"]
    assert re.fullmatch(pattern, fitted)


def test_the_recommended_concurrency_is_the_pacing_modules(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, every_operation(50) | {"DeleteFaces": 20})
    check = tps_check(quotas)
    account = RekognitionQuotas(tps=every_operation(50) | {"DeleteFaces": 20})
    assert ingest_concurrency(account, TPS_CODES) == 20
    assert check.status == "ok"
    assert "DeleteFaces=20 IngestMaxConcurrency=20 to use it" in check.detail


def test_a_parameter_that_claims_more_than_the_account_warns(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, {"DetectFaces": 100}, every_operation(5))
    claimed = DEFAULT_TPS.replace("DetectLabels=5", "DetectLabels=50")
    check = tps_check(quotas, rekognition_tps=claimed.replace("DetectFaces=5", "DetectFaces=50"))
    assert check.status == "warn"
    assert check.detail == (
        "RekognitionTpsQuotas claims more than the account allows: DetectLabels 50 > 5: "
        "the ingest fleet would be throttled all the time (back pressure, not pacing)"
    )
    assert check.fix == (
        "deploy with --parameter-overrides RekognitionTpsQuotas=DetectLabels=5,DetectText=5,"
        "DetectFaces=100,DetectModerationLabels=5,SearchFacesByImage=5,IndexFaces=5,"
        "SearchFaces=5,DeleteFaces=5 IngestMaxConcurrency=5; "
        "or aws service-quotas request-service-quota-increase --service-code rekognition "
        "--quota-code L-E29B542B --desired-value 50"
    )


def test_a_concurrency_above_the_smallest_quota_warns(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, {}, every_operation(5))
    check = tps_check(quotas, ingest_max_concurrency=10)
    assert check.status == "warn"
    assert check.detail == (
        "IngestMaxConcurrency=10 is more than the account's smallest quota allows (5): "
        "the fleet's bursts can exceed it"
    )
    assert check.fix.endswith("IngestMaxConcurrency=5")


def test_a_parameter_without_an_operation_warns_that_it_goes_unpaced(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, every_operation(5))
    check = tps_check(quotas, rekognition_tps=DEFAULT_TPS.replace(",DeleteFaces=5", ""))
    assert (check.status, check.detail) == (
        "warn",
        "RekognitionTpsQuotas gives no TPS for DeleteFaces: unpaced",
    )


def test_a_tps_quota_found_nowhere_warns_with_the_console_hint(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    unlisted = {op: tps for op, tps in every_operation(5).items() if op != "SearchFaces"}
    tps_answers(stubber, {}, unlisted)
    check = tps_check(quotas)
    assert (check.status, check.detail) == (
        "warn",
        "could not read the TPS quota of SearchFaces",
    )
    assert check.fix == "check them in the Service Quotas console (Amazon Rekognition)"


def test_a_renamed_tps_quota_is_found_by_its_operation_as_a_word(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    renamed = [
        quota("rekognition", TPS_CODES[op], f"Transactions per second (TPS) for the {op} API", 5)
        for op in TPS_CODES
        if op != "SearchFaces"
    ]
    stubber.add_response("list_service_quotas", {"Quotas": renamed})
    stubber.add_response("list_aws_default_service_quotas", {"Quotas": renamed})
    check = tps_check(quotas)
    assert check.detail == "could not read the TPS quota of SearchFaces"


def test_tps_quotas_without_permission_warn_with_the_actions(stub: Stub) -> None:
    quotas, stubber = stub("service-quotas")
    tps_answers(stubber, {})
    denied(stubber, "list_aws_default_service_quotas")
    check = tps_check(quotas)
    assert (check.status, check.detail) == (
        "warn",
        "cannot check: missing permission servicequotas:ListServiceQuotas, "
        "servicequotas:ListAWSDefaultServiceQuotas",
    )


def test_the_tps_options_are_checked_as_the_stack_reads_them() -> None:
    options = preflight.parse(
        ["--rekognition-tps", "DetectLabels=50", "--ingest-max-concurrency", "7"]
    )
    assert (options.rekognition_tps, options.ingest_max_concurrency) == ("DetectLabels=50", 7)
    assert preflight.parse([]).rekognition_tps == DEFAULT_TPS
    for argv in (["--rekognition-tps", "DetectLabels=0"], ["--ingest-max-concurrency", "1"]):
        with pytest.raises(SystemExit):
            preflight.parse(argv)


@pytest.mark.parametrize(
    ("status_code", "status", "words"),
    [
        (404, "ok", "is free"),
        (403, "fail", "taken by another account"),
        (200, "warn", "exists (already deployed?)"),
        (400, "warn", "cannot check: s3:ListBucket"),
    ],
)
def test_the_media_bucket_name(stub: Stub, status_code: int, status: str, words: str) -> None:
    s3, stubber = stub("s3")
    bucket = f"medialens-media-{ACCOUNT}-{REGION}"
    if status_code == 200:
        stubber.add_response("head_bucket", {}, {"Bucket": bucket})
    else:
        stubber.add_client_error(
            "head_bucket",
            str(status_code),
            http_status_code=status_code,
            expected_params={"Bucket": bucket},
        )
    check = preflight.check_bucket(s3, bucket)
    assert check.status == status
    assert words in check.detail
    assert status_code in {400, 404} or "NamePrefix" in check.fix


def python_versions(monkeypatch: pytest.MonkeyPatch, versions: dict[str, str]) -> None:
    """``<path> --version`` answers from ``versions``; any other path does not run."""

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if command[0] not in versions:
            raise FileNotFoundError(command[0])
        return subprocess.CompletedProcess(command, 0, f"{versions[command[0]]}\n", "")

    monkeypatch.setattr(subprocess, "run", run)


def test_python_313_on_path_or_in_pyenv(monkeypatch: pytest.MonkeyPatch) -> None:
    on_path, in_pyenv = "/usr/bin/python3.13", "/pyenv/versions/3.13.5/bin/python3.13"
    python_versions(monkeypatch, {on_path: "Python 3.13.5", in_pyenv: "Python 3.13.5"})

    def nowhere(*_: str) -> None:
        return None

    assert preflight.check_python(lambda _: on_path, nowhere).detail == on_path
    assert preflight.check_python(nowhere, lambda: in_pyenv).detail == in_pyenv
    shim = "/pyenv/shims/python3.13"
    assert preflight.check_python(lambda _: shim, lambda: in_pyenv).detail == in_pyenv
    missing = preflight.check_python(lambda _: shim, nowhere)
    assert (missing.status, missing.fix) == (
        "fail",
        "sam build needs python3.13 on PATH (pyenv install 3.13, or PYENV_VERSION=3.13.x)",
    )


def test_pyenv_prefix_finds_its_313(monkeypatch: pytest.MonkeyPatch) -> None:
    python_versions(monkeypatch, {"pyenv": "/pyenv/versions/3.13.5"})
    assert preflight._pyenv_python() == "/pyenv/versions/3.13.5/bin/python3.13"
    python_versions(monkeypatch, {})
    assert preflight._pyenv_python() is None


def stubbed_session(
    monkeypatch: pytest.MonkeyPatch, stub: Stub, *, bucket_status: int = 404
) -> None:
    """Every client a session makes is a stubbed one with the answers of a ready account."""
    clients = {
        name: stub(name)
        for name in ("sts", "lexv2-models", "rekognition", "ec2", "service-quotas", "s3")
    }
    identity = {
        "UserId": "AIDAEXAMPLE",
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev",
    }
    clients["sts"][1].add_response("get_caller_identity", identity)
    clients["lexv2-models"][1].add_response("list_bots", {"botSummaries": []})
    clients["rekognition"][1].add_response("list_collections", {"CollectionIds": []})
    subnet_answers(clients["ec2"][1])
    quota_answers(clients["service-quotas"][1])
    tps_answers(clients["service-quotas"][1], {}, every_operation(5))
    clients["s3"][1].add_client_error(
        "head_bucket", str(bucket_status), http_status_code=bucket_status
    )

    def client(self: boto3.Session, service_name: str, region_name: str, **_: Any) -> Any:
        assert region_name == REGION
        return clients[service_name][0]

    monkeypatch.setattr(boto3.session.Session, "client", client)
    monkeypatch.setattr(shutil, "which", lambda _: "/usr/bin/python3.13")
    python_versions(monkeypatch, {"/usr/bin/python3.13": "Python 3.13.5"})


def test_main_runs_every_check_and_passes(
    monkeypatch: pytest.MonkeyPatch, stub: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed_session(monkeypatch, stub)
    assert preflight.main(["--region", REGION, "--subnet", SUBNET]) == 0
    output = capsys.readouterr().out
    for name in (
        "region",
        "credentials",
        "lex v2",
        "rekognition",
        "emr subnet",
        "emr tags",
        "emr s3 route",
        "emr pypi route",
        "quota sagemaker transform",
        "quota rekognition video jobs",
        "quota emr on-demand vcpus",
        "quota emr spot vcpus",
        "quota rekognition tps",
        "media bucket",
        "python3.13",
    ):
        assert f"OK    {name}" in output
    assert "15 ok, 0 warnings, 0 failed" in output


def test_main_fails_when_a_check_fails(
    monkeypatch: pytest.MonkeyPatch, stub: Stub, capsys: pytest.CaptureFixture[str]
) -> None:
    stubbed_session(monkeypatch, stub, bucket_status=403)
    assert preflight.main(["--region", REGION, "--subnet", SUBNET]) == 1
    output = capsys.readouterr().out
    assert "FAIL  media bucket" in output
    assert "fix: choose another NamePrefix" in output


def test_run_without_a_region_or_outside_the_supported_ones_calls_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_client(*_: Any, **__: Any) -> Any:
        raise AssertionError("no AWS client expected")

    monkeypatch.setattr(boto3.session.Session, "client", no_client)
    monkeypatch.setattr(shutil, "which", lambda _: "/usr/bin/python3.13")
    python_versions(monkeypatch, {"/usr/bin/python3.13": "Python 3.13.5"})
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    [region, _] = preflight.run(boto3.session.Session(), Options())
    assert (region.status, region.detail) == ("fail", "no Region given and none configured")
    assert "--region" in region.fix
    [region, _] = preflight.run(boto3.session.Session(), Options(region="sa-east-1"))
    assert region.status == "fail"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    [region, _] = preflight.run(boto3.session.Session(), Options())
    assert region.status == "fail"


def test_an_unknown_profile_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert preflight.main(["--profile", "preflight-missing"]) == 1
    assert "FAIL  credentials" in capsys.readouterr().out
