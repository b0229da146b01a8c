"""Before a first deploy: does this account and Region have what the stack needs?

``make preflight ARGS="--subnet subnet-..."`` (``--help`` lists the options). Every AWS call
is read-only. Exit code 1 when a check failed, else 0.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from medialens.ingest.pacing import (
    MAX_MAX_CONCURRENCY,
    MIN_MAX_CONCURRENCY,
    PACING_SHARE,
    RekognitionQuotas,
    ingest_concurrency,
)
from medialens.shared.errors import ConfigurationError
from medialens_local.template import load_template, supported_regions

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

Status = Literal["ok", "warn", "fail"]
Quotas = dict[str, tuple[str, float]]

NETWORK_ERRORS = (boto_errors.ConnectionError, boto_errors.HTTPClientError)
AWS_ERRORS = (ClientError, *NETWORK_ERRORS)
CREDENTIAL_ERRORS = (
    ClientError,
    boto_errors.NoCredentialsError,
    boto_errors.PartialCredentialsError,
    boto_errors.CredentialRetrievalError,
    boto_errors.TokenRetrievalError,
    boto_errors.SSOError,
)
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
EMR_TAG = "for-use-with-amazon-emr-managed-policies"
CREDENTIALS_FIX = "configure AWS credentials (aws configure / AWS_PROFILE)"
PYTHON_FIX = "sam build needs python3.13 on PATH (pyenv install 3.13, or PYENV_VERSION=3.13.x)"
# vCPUs of the template's default EMR instance type (EC2 User Guide, "Amazon EC2 instance
# type specifications", general purpose: m5.xlarge has 4); the cluster's own shape
# (primary, core and task counts and types) comes from template.yaml's defaults.
INSTANCE_VCPUS = {"m5.xlarge": 4}
# Rekognition's API reference does not name its quotas; the console lists the first one
# (re:Post, "quota increase for rekognition stored video concurrent jobs").
REKOGNITION_VIDEO_QUOTA_NAMES = (
    "Concurrent Amazon Rekognition Video stored video jobs",
    "concurrent stored video",
    "stored video jobs",
    "concurrent video",
)
# Rekognition's TPS quota of each image operation, as Service Quotas names it (service code
# rekognition). One rule covers the eight operations of RekognitionTpsQuotas' default:
# "Transactions per second per account for the Amazon Rekognition Image operation <Name>".
# Source: what ListServiceQuotas answered in us-east-1, as written out by the generator of
# gruntwork-io/terraform-aws-utilities (codegen/quotas) into docs/quotas.md (commit 3dd9fcb,
# February 2024) and modules/request-quota-increase/variables.tf (commit 55f0c2d, March
# 2026); both give the same names and codes:
# DetectLabels L-E29B542B, DetectText L-87CF5BA6, DetectFaces L-A5121FD7,
# DetectModerationLabels L-7F4D1AC4, SearchFacesByImage L-43CBEB68, IndexFaces L-7C13EBAD,
# SearchFaces L-99829151, DeleteFaces L-220834FB. AWS's own pages ("Amazon Rekognition
# endpoints and quotas") did not give the names in the sources searched, so when the exact
# name is absent a quota whose name says "transactions per second" and holds the operation
# as a whole word is taken (SearchFaces is then never SearchFacesByImage's quota).
REKOGNITION_TPS_QUOTA = (
    "Transactions per second per account for the Amazon Rekognition Image operation {operation}"
)
TPS_CHECK = "quota rekognition tps"
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2})


@dataclass(frozen=True)
class Check:
    """One finding; ``fix`` says what to do when ``status`` is not ``"ok"``."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def template_default(parameter: str) -> str:
    """A template parameter's default, as the deploy takes it when not overridden."""
    return str(load_template()["Parameters"][parameter]["Default"])


def emr_vcpus() -> tuple[int, int]:
    """The On-Demand (primary and core) and Spot (task) vCPUs of the default EMR cluster."""
    vcpus = {
        role: INSTANCE_VCPUS[template_default(f"Emr{role}InstanceType")]
        for role in ("Primary", "Core", "Task")
    }
    on_demand = vcpus["Primary"] + vcpus["Core"] * int(template_default("EmrCoreInstanceCount"))
    return on_demand, vcpus["Task"] * int(template_default("EmrTaskInstanceCount"))


@dataclass(frozen=True)
class Options:
    """The Region, the EMR subnet and the template parameters to check against."""

    region: str | None = None
    profile: str | None = None
    subnet: str | None = None
    name_prefix: str = field(default_factory=lambda: template_default("NamePrefix"))
    transform_instance_type: str = field(
        default_factory=lambda: template_default("TransformInstanceType")
    )
    transform_instance_count: int = field(
        default_factory=lambda: int(template_default("TransformInstanceCount"))
    )
    rekognition_tps: str = field(default_factory=lambda: template_default("RekognitionTpsQuotas"))
    ingest_max_concurrency: int = field(
        default_factory=lambda: int(template_default("IngestMaxConcurrency"))
    )


@dataclass(frozen=True)
class QuotaNeed:
    """A Service Quotas value the stack assumes, found by (part of) its name."""

    label: str
    service_code: str
    names: tuple[str, ...]
    needed: float
    wanted: float = 0
    short: str = ""


def _code(error: ClientError | BotoCoreError) -> str:
    return str(error.response["Error"].get("Code", "")) if isinstance(error, ClientError) else ""


def _cannot(name: str, action: str, error: ClientError | BotoCoreError) -> Check:
    if _code(error) in DENIED:
        return Check(name, "warn", f"cannot check: missing permission {action}", f"allow {action}")
    return Check(name, "warn", f"cannot check: {action}: {error}", "retry, or check by hand")


# The template's Rules.SupportedRegion (template.yaml) names where Lex V2 and Rekognition
# face collections both exist.
def check_region(region: str, supported: Sequence[str] | None = None) -> Check:
    """Is ``region`` one the template's ``SupportedRegion`` rule accepts?"""
    regions = list(supported_regions() if supported is None else supported)
    if region in regions:
        return Check("region", "ok", region)
    detail = (
        f"{region}: medialens deploys only to: {', '.join(regions)}; "
        "other Regions lack Lex V2 or Rekognition face collections"
    )
    return Check("region", "fail", detail, f"rerun with --region {regions[0]} (or another)")


# STS API Reference, GetCallerIdentity (needs no permission):
# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
def check_credentials(sts: STSClient) -> tuple[Check, str | None]:
    """Whose credentials these are: the check, and the account id when usable."""
    try:
        identity = sts.get_caller_identity()
    except CREDENTIAL_ERRORS as error:
        return Check("credentials", "fail", str(error), CREDENTIALS_FIX), None
    except NETWORK_ERRORS as error:
        fix = "check your network and the Region name"
        return Check("credentials", "fail", f"cannot reach STS: {error}", fix), None
    return Check("credentials", "ok", identity["Arn"]), identity["Account"]


# A Region without the service has no endpoint for it (AWS General Reference, Lex and
# Rekognition endpoints: https://docs.aws.amazon.com/general/latest/gr/lex.html,
# https://docs.aws.amazon.com/general/latest/gr/rekognition.html).
def check_service(name: str, action: str, region: str, call: Callable[[], object]) -> Check:
    """Is the service offered in ``region``? A read-only ``call`` answers."""
    try:
        call()
    except EndpointConnectionError:
        return Check(name, "fail", f"not offered in {region}", "choose a supported Region")
    except AWS_ERRORS as error:
        return _cannot(name, action, error)
    return Check(name, "ok", f"offered in {region}")


def check_lex(lex: Any, region: str) -> Check:
    """Lex V2 model building, where the template defines the bot."""
    return check_service("lex v2", "lex:ListBots", region, lambda: lex.list_bots(maxResults=1))


def check_rekognition(rekognition: RekognitionClient, region: str) -> Check:
    """Rekognition, face collections included."""
    return check_service(
        "rekognition",
        "rekognition:ListCollections",
        region,
        lambda: rekognition.list_collections(MaxResults=1),
    )


def _tagged(resource: Mapping[str, Any]) -> bool:
    return any(t["Key"] == EMR_TAG and t["Value"] == "true" for t in resource.get("Tags", []))


def _egress(table: Mapping[str, Any]) -> str | None:
    for route in table.get("Routes", []):
        target = str(route.get("NatGatewayId") or route.get("GatewayId") or "")
        default = route.get("DestinationCidrBlock") == "0.0.0.0/0"
        if default and route.get("State") != "blackhole" and target.startswith(("nat-", "igw-")):
            return target
    return None


def _route_table(ec2: Any, subnet_id: str, vpc_id: str) -> dict[str, Any] | None:
    for filters in (
        [{"Name": "association.subnet-id", "Values": [subnet_id]}],
        [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}],
    ):
        if tables := ec2.describe_route_tables(Filters=filters)["RouteTables"]:
            return dict(tables[0])
    return None


def check_subnet(ec2: Any, region: str, subnet_id: str) -> list[Check]:
    """The EMR cluster's subnet: exists, tagged for EMR (as its VPC), routes to S3 and PyPI."""
    try:
        [subnet] = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    except AWS_ERRORS as error:
        if not _code(error).startswith("InvalidSubnetID"):
            return [_cannot("emr subnet", "ec2:DescribeSubnets", error)]
        fix = f"pass --subnet with one of: aws ec2 describe-subnets --region {region}"
        return [Check("emr subnet", "fail", f"{subnet_id}: subnet not found in {region}", fix)]
    vpc_id = str(subnet["VpcId"])
    checks = [
        Check("emr subnet", "ok", f"{subnet_id} in {vpc_id} ({subnet['AvailabilityZone']})"),
        check_emr_tags(ec2, subnet),
    ]
    try:
        table = _route_table(ec2, subnet_id, vpc_id)
    except AWS_ERRORS as error:
        return [*checks, _cannot("emr routes", "ec2:DescribeRouteTables", error)]
    if table is None:
        return [*checks, Check("emr routes", "warn", f"no route table found for {subnet_id}")]
    return [*checks, check_s3_route(ec2, region, vpc_id, table), check_pypi_route(table)]


# EMR's v2 managed service policy launches only into tagged subnets and creates default
# security groups only in a tagged VPC (EMR Management Guide, "Tagging resources to use
# managed policies": https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-managed-iam-policies.html).
def check_emr_tags(ec2: Any, subnet: Mapping[str, Any]) -> Check:
    """Do the subnet and its VPC carry ``for-use-with-amazon-emr-managed-policies=true``?"""
    subnet_id, vpc_id = str(subnet["SubnetId"]), str(subnet["VpcId"])
    try:
        [vpc] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except AWS_ERRORS as error:
        return _cannot("emr tags", "ec2:DescribeVpcs", error)
    untagged = [rid for rid, item in ((subnet_id, subnet), (vpc_id, vpc)) if not _tagged(item)]
    if not untagged:
        return Check("emr tags", "ok", f"{subnet_id} and {vpc_id} carry {EMR_TAG}=true")
    detail = (
        f"{' and '.join(untagged)} {'lack' if len(untagged) > 1 else 'lacks'} the tag "
        f"{EMR_TAG}=true: "
        "EMR's managed policy launches clusters only into tagged subnets and VPCs"
    )
    fix = f"aws ec2 create-tags --resources {subnet_id} {vpc_id} --tags Key={EMR_TAG},Value=true"
    return Check("emr tags", "fail", detail, fix)


# "At a minimum, you must provide a route to the Amazon EMR service logs bucket and Amazon
# Linux repository in Amazon S3"; for private subnets, VPC endpoints for S3 are recommended
# (EMR Management Guide: https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-clusters-in-a-vpc.html).
def check_s3_route(ec2: Any, region: str, vpc_id: str, table: Mapping[str, Any]) -> Check:
    """Does the subnet's route table reach S3: a gateway endpoint, or a NAT/internet gateway?"""
    table_id, service = str(table["RouteTableId"]), f"com.amazonaws.{region}.s3"
    filters = {"vpc-id": vpc_id, "service-name": service, "vpc-endpoint-type": "Gateway"}
    try:
        endpoints = ec2.describe_vpc_endpoints(
            Filters=[{"Name": name, "Values": [value]} for name, value in filters.items()]
        )["VpcEndpoints"]
    except AWS_ERRORS as error:
        return _cannot("emr s3 route", "ec2:DescribeVpcEndpoints", error)
    live = [e for e in endpoints if str(e.get("State", "")).lower() == "available"]
    for endpoint in live:
        if table_id in endpoint.get("RouteTableIds", []):
            return Check("emr s3 route", "ok", f"{table_id} via {endpoint['VpcEndpointId']}")
    if egress := _egress(table):
        return Check("emr s3 route", "ok", f"{table_id} via {egress} (no S3 gateway endpoint)")
    fix = (
        f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {live[0]['VpcEndpointId']} "
        f"--add-route-table-ids {table_id}"
        if live
        else f"aws ec2 create-vpc-endpoint --vpc-id {vpc_id} --vpc-endpoint-type Gateway "
        f"--service-name {service} --route-table-ids {table_id}"
    )
    return Check("emr s3 route", "fail", f"{table_id} has no route to S3", fix)


# jobs/emr_bootstrap.sh pip-installs jobs/requirements-emr.txt on every node, from PyPI.
def check_pypi_route(table: Mapping[str, Any]) -> Check:
    """Does the subnet reach PyPI: a 0.0.0.0/0 route via a NAT or internet gateway?"""
    table_id = str(table["RouteTableId"])
    if egress := _egress(table):
        return Check("emr pypi route", "ok", f"{table_id}: 0.0.0.0/0 via {egress}")
    detail = (
        f"{table_id} has no 0.0.0.0/0 route: the EMR bootstrap action needs PyPI: add a NAT "
        "gateway route or the label-mining workflow's clusters fail to bootstrap"
    )
    fix = (
        f"aws ec2 create-route --route-table-id {table_id} --destination-cidr-block 0.0.0.0/0 "
        "--nat-gateway-id <a NAT gateway in a public subnet of the VPC>"
    )
    return Check("emr pypi route", "warn", detail, fix)


def check_no_subnet(ec2: Any) -> Check:
    """No ``--subnet``: the template requires ``EmrSubnetId``; name subnets tagged for EMR."""
    try:
        subnets = ec2.describe_subnets(
            Filters=[{"Name": f"tag:{EMR_TAG}", "Values": ["true"]}], MaxResults=5
        )["Subnets"]
    except AWS_ERRORS as error:
        found = _cannot("emr subnet", "ec2:DescribeSubnets", error).detail
    else:
        listed = ", ".join(f"{s['SubnetId']} ({s['VpcId']})" for s in subnets)
        found = f"subnets tagged for EMR: {listed}" if listed else "no subnet is tagged for EMR"
    detail = f"no --subnet: the template requires EmrSubnetId; {found}"
    fix = "rerun with --subnet subnet-..., then deploy with EmrSubnetId=subnet-..."
    return Check("emr subnet", "warn", detail, fix)


# Quotas: https://docs.aws.amazon.com/general/latest/gr/sagemaker.html (SageMaker),
# https://docs.aws.amazon.com/rekognition/latest/dg/limits.html (Rekognition), and EC2 in
# vCPUs: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-on-demand-instances.html,
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html.
def quota_needs(options: Options) -> list[QuotaNeed]:
    """The quotas the template's defaults assume: Batch Transform, Rekognition Video, EMR."""
    transform = f"{options.transform_instance_type} for transform job usage"
    backlog = "the video backlog will start fewer jobs at once"
    on_demand = "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
    spot = "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"
    on_demand_vcpus, spot_vcpus = emr_vcpus()
    return [
        QuotaNeed(
            "sagemaker transform", "sagemaker", (transform,), options.transform_instance_count
        ),
        QuotaNeed(
            "rekognition video jobs", "rekognition", REKOGNITION_VIDEO_QUOTA_NAMES, 1, 20, backlog
        ),
        QuotaNeed("emr on-demand vcpus", "ec2", (on_demand,), on_demand_vcpus),
        QuotaNeed("emr spot vcpus", "ec2", (spot,), spot_vcpus),
    ]


def _list_quotas(quotas: Any, operation: str, service_code: str) -> Quotas:
    pages = quotas.get_paginator(operation).paginate(ServiceCode=service_code)
    return {
        str(q["QuotaName"]): (str(q["QuotaCode"]), float(q["Value"]))
        for page in pages
        for q in page["Quotas"]
        if "Value" in q
    }


def _match(found: Quotas, names: Sequence[str]) -> str | None:
    for candidate in names:
        if hits := [name for name in found if candidate.lower() in name.lower()]:
            return next((h for h in hits if h.lower() == candidate.lower()), hits[0])
    return None


def judge_quota(need: QuotaNeed, found: Quotas) -> Check:
    """OK when the value covers what the stack wants, else a WARN naming the increase."""
    name = f"quota {need.label}"
    if (matched := _match(found, need.names)) is None:
        console = "check it in the Service Quotas console"
        return Check(name, "warn", f"could not read quota {need.names[0]}; {console}", console)
    code, value = found[matched]
    wanted = max(need.needed, need.wanted)
    detail = f"{matched} = {value:g}, needed {need.needed:g}"
    if value >= wanted:
        return Check(name, "ok", detail)
    fix = (
        f"aws service-quotas request-service-quota-increase --service-code {need.service_code} "
        f"--quota-code {code} --desired-value {wanted:g}"
    )
    return Check(name, "warn", f"{detail}: {need.short}" if value >= need.needed else detail, fix)


# Service Quotas API Reference, ListServiceQuotas: "If the applied quota value is not
# available for a quota, the quota is not retrieved"; ListAWSDefaultServiceQuotas has it.
# https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html
def check_quotas(quotas: Any, needs: Sequence[QuotaNeed]) -> list[Check]:
    """Applied values, falling back to AWS defaults for the quotas not listed as applied."""
    checks: list[Check] = []
    for service_code in dict.fromkeys(need.service_code for need in needs):
        group = [need for need in needs if need.service_code == service_code]
        action = "servicequotas:ListServiceQuotas"
        try:
            found = _list_quotas(quotas, "list_service_quotas", service_code)
            if any(_match(found, need.names) is None for need in group):
                action = "servicequotas:ListAWSDefaultServiceQuotas"
                found = (
                    _list_quotas(quotas, "list_aws_default_service_quotas", service_code) | found
                )
        except AWS_ERRORS as error:
            checks += [_cannot(f"quota {need.label}", action, error) for need in group]
        else:
            checks += [judge_quota(need, found) for need in group]
    return checks


@dataclass(frozen=True)
class AccountQuota:
    """One Rekognition TPS quota as Service Quotas gave it: applied, or AWS's default."""

    name: str
    code: str
    value: float
    applied: bool


def _tps_quota_name(found: Quotas, operation: str) -> str | None:
    exact = REKOGNITION_TPS_QUOTA.format(operation=operation).lower()
    if hit := next((name for name in found if name.lower() == exact), None):
        return hit
    return next(
        (
            name
            for name in found
            if "transactions per second" in name.lower()
            and operation in re.findall(r"[A-Za-z]+", name)
        ),
        None,
    )


def _tps_text(tps: Mapping[str, float]) -> str:
    """``Operation=TPS`` pairs as the template's ``AllowedPattern`` takes them (no exponent)."""
    return ",".join(
        f"{operation}={f'{value:f}'.rstrip('0').rstrip('.')}" for operation, value in tps.items()
    )


def tps_operations(options: Options) -> list[str]:
    """The operations to check: the template default's, then any other the options name."""
    default = RekognitionQuotas.parse(template_default("RekognitionTpsQuotas"))
    claimed = RekognitionQuotas.parse(options.rekognition_tps)
    return list(dict.fromkeys([*default.tps, *claimed.tps]))


# ListServiceQuotas leaves out quotas without an applied value (see check_quotas), so the
# AWS defaults are read for the operations it did not list.
def read_rekognition_tps(quotas: Any, operations: Sequence[str]) -> dict[str, AccountQuota]:
    """Each operation's TPS quota in the client's Region: applied, else the AWS default.

    Parameters
    ----------
    quotas : Any
        A Service Quotas client.
    operations : Sequence[str]
        Rekognition operation names, such as ``"DetectLabels"``.

    Returns
    -------
    dict[str, AccountQuota]
        The quotas found, by operation; an operation neither listing names is absent.

    Raises
    ------
    botocore.exceptions.ClientError
        When Service Quotas refuses a listing (the caller names the action).
    """
    found: dict[str, AccountQuota] = {}
    for operation_name, applied in (
        ("list_service_quotas", True),
        ("list_aws_default_service_quotas", False),
    ):
        listed = _list_quotas(quotas, operation_name, "rekognition")
        for operation in operations:
            if operation not in found and (name := _tps_quota_name(listed, operation)):
                found[operation] = AccountQuota(name, *listed[name], applied)
        if len(found) == len(operations):
            break
    return {operation: found[operation] for operation in operations if operation in found}


def fit_to_account(
    account: Mapping[str, AccountQuota], operations: Sequence[str]
) -> RekognitionQuotas | None:
    """``RekognitionTpsQuotas`` as the account's quotas would set it; None when one is unread.

    The text goes through :meth:`RekognitionQuotas.parse`, as the stack would read it (a
    quota of 0 makes no parameter).
    """
    try:
        return RekognitionQuotas.parse(
            _tps_text({operation: account[operation].value for operation in operations})
        )
    except (KeyError, ConfigurationError):
        return None


def judge_rekognition_tps(
    claimed: RekognitionQuotas,
    account: Mapping[str, AccountQuota],
    operations: Sequence[str],
    max_concurrency: int,
) -> Check:
    """Compare the TPS the stack is told (and its concurrency) with the account's quotas.

    Parameters
    ----------
    claimed : RekognitionQuotas
        ``RekognitionTpsQuotas`` as the stack will be deployed with it.
    account : Mapping[str, AccountQuota]
        The account's quotas by operation, from :func:`read_rekognition_tps`.
    operations : Sequence[str]
        The operations the ingest fleet calls.
    max_concurrency : int
        ``IngestMaxConcurrency`` as the stack will be deployed with it.

    Returns
    -------
    Check
        A warning when the parameter claims more than the account allows or leaves an
        operation out, when ``max_concurrency`` exceeds what the account's quotas allow,
        or when a quota cannot be read. Otherwise OK, naming the parameters that would
        use the account's quotas when it allows more.
    """
    fitted = fit_to_account(account, operations)
    derived, recommended = None, ""
    if fitted is not None:
        derived = ingest_concurrency(fitted, operations)
        recommended = f"RekognitionTpsQuotas={_tps_text(fitted.tps)} IngestMaxConcurrency={derived}"
    over = [
        operation
        for operation in operations
        if operation in account and claimed.tps.get(operation, 0) > account[operation].value
    ]
    unpaced = [operation for operation in operations if operation not in claimed.tps]
    missing = [operation for operation in operations if operation not in account]
    problems = []
    if over:
        claims = ", ".join(
            f"{operation} {claimed.tps[operation]:g} > {account[operation].value:g}"
            for operation in over
        )
        problems.append(
            f"RekognitionTpsQuotas claims more than the account allows: {claims}: the ingest "
            "fleet would be throttled all the time (back pressure, not pacing)"
        )
    if unpaced:
        problems.append(f"RekognitionTpsQuotas gives no TPS for {', '.join(unpaced)}: unpaced")
    if derived is not None and max_concurrency > derived:
        problems.append(
            f"IngestMaxConcurrency={max_concurrency} is more than the account's smallest "
            f"quota allows ({derived}): the fleet's bursts can exceed it"
        )
    if missing:
        problems.append(f"could not read the TPS quota of {', '.join(missing)}")
    if problems:
        fixes = [f"deploy with --parameter-overrides {recommended}"] if recommended else []
        fixes += [
            "aws service-quotas request-service-quota-increase --service-code rekognition "
            f"--quota-code {account[operation].code} --desired-value {claimed.tps[operation]:g}"
            for operation in over
        ]
        if missing:
            fixes.append("check them in the Service Quotas console (Amazon Rekognition)")
        return Check(TPS_CHECK, "warn", "; ".join(problems), "; or ".join(fixes))
    applied = [operation for operation in operations if account[operation].applied]
    source = f"applied: {', '.join(applied)}; AWS defaults otherwise" if applied else "AWS defaults"
    paced = f"the ingest fleet spends {PACING_SHARE:.0%} of each"
    same = fitted is not None and fitted.tps == {op: claimed.tps[op] for op in operations}
    if same and max_concurrency == derived:
        detail = f"RekognitionTpsQuotas and IngestMaxConcurrency={derived} match the account"
        return Check(TPS_CHECK, "ok", f"{detail} ({source}); {paced}")
    detail = f"the account allows more ({source}): deploy with {recommended} to use it"
    return Check(TPS_CHECK, "ok", f"{detail}; {paced}")


def check_rekognition_tps(quotas: Any, options: Options) -> Check:
    """Does ``RekognitionTpsQuotas`` fit the account's Rekognition TPS quotas in the Region?

    Parameters
    ----------
    quotas : Any
        A Service Quotas client.
    options : Options
        ``rekognition_tps`` and ``ingest_max_concurrency``: what the stack is deployed with.

    Returns
    -------
    Check
        See :func:`judge_rekognition_tps`; a warning naming the action when a listing
        is refused.
    """
    operations = tps_operations(options)
    try:
        account = read_rekognition_tps(quotas, operations)
    except AWS_ERRORS as error:
        actions = "servicequotas:ListServiceQuotas, servicequotas:ListAWSDefaultServiceQuotas"
        return _cannot(TPS_CHECK, actions, error)
    claimed = RekognitionQuotas.parse(options.rekognition_tps)
    return judge_rekognition_tps(claimed, account, operations, options.ingest_max_concurrency)


# S3 API Reference, HeadBucket: 200 when the bucket exists and you may access it, 403 when
# you may not, 404 when there is none: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
def check_bucket(s3: S3Client, bucket: str) -> Check:
    """Is the media bucket's name, ``<NamePrefix>-media-<account>-<region>``, free?"""
    try:
        s3.head_bucket(Bucket=bucket)
    except AWS_ERRORS as error:
        if _code(error) in {"404", "NoSuchBucket", "NotFound"}:
            return Check("media bucket", "ok", f"{bucket} is free")
        if _code(error) not in {"403", "AccessDenied"}:
            return _cannot("media bucket", "s3:ListBucket", error)
        detail = f"{bucket}: the name is taken by another account (or s3:ListBucket is denied)"
        return Check("media bucket", "fail", detail, "choose another NamePrefix")
    fix = "choose another --parameter-overrides NamePrefix=..."
    return Check("media bucket", "warn", f"{bucket} exists (already deployed?)", fix)


def _output(*command: str) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _pyenv_python() -> str | None:
    prefix = _output("pyenv", "prefix", "3.13")
    return str(Path(prefix) / "bin" / "python3.13") if prefix else None


def _is_python313(path: str) -> bool:
    return (_output(path, "--version") or "").startswith("Python 3.13")


# Built without a container, a function needs its runtime's Python on PATH ("Binary
# validation failed for python"): https://github.com/aws/aws-lambda-builders/issues/388
def check_python(
    which: Callable[[str], str | None] | None = None,
    pyenv: Callable[[], str | None] | None = None,
) -> Check:
    """Is there a python3.13 that runs (not an inactive pyenv shim), on PATH or in pyenv?

    The Makefile puts ``pyenv prefix 3.13`` first on PATH for ``sam build``.
    """
    for found in ((which or shutil.which)("python3.13"), (pyenv or _pyenv_python)()):
        if found and _is_python313(found):
            return Check("python3.13", "ok", found)
    return Check("python3.13", "fail", "no python3.13 that runs", PYTHON_FIX)


def run(session: boto3.Session, options: Options) -> list[Check]:
    """Every check, with clients of ``session`` in the chosen Region."""
    python = check_python()
    if not (region := options.region or session.region_name):
        fix = "pass --region, or set AWS_REGION / aws configure set region"
        return [Check("region", "fail", "no Region given and none configured", fix), python]
    if (checked := check_region(region)).status == "fail":
        return [checked, python]
    if not options.region:
        checked = replace(checked, detail=f"{region} (the default Region; --region picks another)")

    def client(service: str) -> Any:
        return session.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]

    credentials, account = check_credentials(client("sts"))
    if account is None:
        return [checked, credentials, python]
    ec2, quotas = client("ec2"), client("service-quotas")
    return [
        checked,
        credentials,
        check_lex(client("lexv2-models"), region),
        check_rekognition(client("rekognition"), region),
        *(check_subnet(ec2, region, options.subnet) if options.subnet else [check_no_subnet(ec2)]),
        *check_quotas(quotas, quota_needs(options)),
        check_rekognition_tps(quotas, options),
        check_bucket(client("s3"), f"{options.name_prefix}-media-{account}-{region}"),
        python,
    ]


def render(checks: Sequence[Check]) -> str:
    """A plain-text table: status, check, detail, and each problem's fix under it."""
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        lines.append(f"{check.status.upper():<4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = Counter(check.status for check in checks)
    lines.append(f"\n{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed")
    return "\n".join(lines)


def _tps_option(text: str) -> str:
    try:
        RekognitionQuotas.parse(text)
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _concurrency_option(text: str) -> int:
    value = int(text)
    if not MIN_MAX_CONCURRENCY <= value <= MAX_MAX_CONCURRENCY:
        bounds = f"{MIN_MAX_CONCURRENCY}-{MAX_MAX_CONCURRENCY}"
        raise argparse.ArgumentTypeError(f"{value} is not within {bounds}")
    return value


def parse(argv: Sequence[str]) -> Options:
    """Command-line options, with the template parameters' defaults."""
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="make preflight", description="Read-only checks before a first deploy."
    )
    parser.add_argument("--region")
    parser.add_argument("--profile")
    parser.add_argument("--subnet", help="EmrSubnetId: the label-mining EMR cluster's subnet")
    parser.add_argument("--name-prefix", default=defaults.name_prefix)
    parser.add_argument("--transform-instance-type", default=defaults.transform_instance_type)
    parser.add_argument(
        "--transform-instance-count", type=int, default=defaults.transform_instance_count
    )
    parser.add_argument(
        "--rekognition-tps",
        type=_tps_option,
        default=defaults.rekognition_tps,
        help='RekognitionTpsQuotas as you will deploy it, e.g. "DetectLabels=50,DetectText=50"',
    )
    parser.add_argument(
        "--ingest-max-concurrency",
        type=_concurrency_option,
        default=defaults.ingest_max_concurrency,
        help="IngestMaxConcurrency as you will deploy it",
    )
    return Options(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks and print them; 1 when any check failed, else 0."""
    options = parse(sys.argv[1:] if argv is None else argv)
    try:
        session = boto3.Session(profile_name=options.profile, region_name=options.region)
    except boto_errors.ProfileNotFound as error:
        checks = [Check("credentials", "fail", str(error), CREDENTIALS_FIX)]
    else:
        checks = run(session, options)
    print(render(checks))
    return 1 if any(check.status == "fail" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
