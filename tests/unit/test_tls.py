"""EMR's TLS material for the Region's internal DNS, and publishing the workflow's files."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from medialens.workflows.artifacts import (
    Artifact,
    ArtifactTarget,
    content_type,
    publish_workflow_artifacts,
)
from medialens.workflows.tls import (
    RENEW_WITHIN,
    current_or_new,
    emr_certificates,
    internal_dns_wildcard,
    read_bundle,
)

NOW = datetime(2026, 11, 27, 10, 30, 15, tzinfo=UTC)
PEM_FILES = {"privateKey.pem", "certificateChain.pem", "trustedCertificates.pem"}


class Written:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = (body, content_type)

    def get_if_present(self, bucket: str, key: str) -> bytes | None:
        found = self.objects.get((bucket, key))
        return None if found is None else found[0]


def unzip(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def certificate_of(files: dict[str, bytes]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files["certificateChain.pem"])


@pytest.mark.parametrize(
    ("region", "hostname"),
    [
        ("us-east-1", "*.ec2.internal"),
        ("eu-west-1", "*.eu-west-1.compute.internal"),
        ("us-west-2", "*.us-west-2.compute.internal"),
    ],
)
def test_the_certificate_names_the_regions_internal_dns_wildcard(
    region: str, hostname: str
) -> None:
    bundle = emr_certificates(region, NOW)

    certificate = certificate_of(unzip(bundle.archive))
    assert bundle.hostname == hostname
    [common_name] = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert common_name.value == hostname
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [hostname]


def test_the_zip_holds_a_key_and_the_self_signed_certificate_it_matches() -> None:
    files = unzip(emr_certificates("eu-west-1", NOW).archive)

    assert set(files) == PEM_FILES
    assert files["trustedCertificates.pem"] == files["certificateChain.pem"]
    key = serialization.load_pem_private_key(files["privateKey.pem"], password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    certificate = certificate_of(files)
    assert key.public_key() == certificate.public_key()
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is False


def test_the_certificate_is_valid_from_just_before_now_for_three_years() -> None:
    bundle = emr_certificates("eu-west-1", NOW)

    certificate = certificate_of(unzip(bundle.archive))
    assert certificate.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert certificate.not_valid_after_utc == NOW + timedelta(days=3 * 365)
    assert bundle.expires == certificate.not_valid_after_utc
    assert certificate.signature_hash_algorithm is not None
    assert certificate.signature_hash_algorithm.name == "sha256"


def test_every_call_makes_a_new_key() -> None:
    first = unzip(emr_certificates("eu-west-1", NOW).archive)
    second = unzip(emr_certificates("eu-west-1", NOW).archive)

    assert first["privateKey.pem"] != second["privateKey.pem"]


@pytest.mark.parametrize(
    ("region", "now", "valid_days", "message"),
    [
        ("eu-west-1", NOW.replace(tzinfo=None), 1095, "timezone-aware"),
        ("eu-west-1", NOW, 0, "must be positive"),
        ("", NOW, 1095, "not an AWS Region"),
        ("*.example.com", NOW, 1095, "not an AWS Region"),
    ],
)
def test_bad_inputs_are_refused(region: str, now: datetime, valid_days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emr_certificates(region, now, valid_days)


def test_china_and_govcloud_regions_use_the_compute_internal_form() -> None:
    assert internal_dns_wildcard("cn-north-1") == "*.cn-north-1.compute.internal"
    assert internal_dns_wildcard("us-gov-west-1") == "*.us-gov-west-1.compute.internal"


def test_the_workflow_files_and_certificates_land_where_the_target_says() -> None:
    written = Written()

    published = publish_workflow_artifacts(
        job_script=Artifact("label_mining.py", b"print(1)\n"),
        bootstrap_script=Artifact("emr_bootstrap.sh", b"#!/bin/bash\n"),
        requirements=Artifact("requirements-emr.txt", b"numpy==1.26.4\n"),
        target=ArtifactTarget("media", "jobs/", "emr-tls/"),
        region="eu-west-1",
        now=NOW,
        writer=written,
        reader=written,
    )

    attributes = published.attributes()
    assert attributes["TlsCertificatesUri"] == "s3://media/emr-tls/certificates.zip"
    assert attributes["TlsCertificatesExpire"] == "2029-11-26T10:30:15Z"
    types = {key: kind for (_, key), (_, kind) in written.objects.items()}
    assert types == {
        attributes["JobScriptUri"].removeprefix("s3://media/"): "text/x-python",
        attributes["BootstrapScriptUri"].removeprefix("s3://media/"): "text/x-shellscript",
        attributes["RequirementsUri"].removeprefix("s3://media/"): "text/plain",
        "emr-tls/certificates.zip": "application/zip",
    }
    assert all(key.startswith("jobs/") for key in types if not key.endswith(".zip"))


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Prefix": "jobs/", "TlsPrefix": "emr-tls/"}, "Bucket is missing"),
        ({"Bucket": "media", "TlsPrefix": "emr-tls/"}, "Prefix is missing"),
        ({"Bucket": "media", "Prefix": "jobs/"}, "TlsPrefix is missing"),
        ({"Bucket": "media", "Prefix": "jobs/", "TlsPrefix": "emr-tls"}, "must end with '/'"),
        ({"Bucket": "media", "Prefix": "jobs", "TlsPrefix": "emr-tls/"}, "must end with '/'"),
    ],
)
def test_a_missing_property_or_a_prefix_that_is_no_folder_is_refused(
    properties: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ArtifactTarget.from_properties(properties)


def test_content_types_follow_the_suffix() -> None:
    assert content_type("emr_bootstrap.sh") == "text/x-shellscript"
    assert content_type("requirements-emr.txt") == "text/plain"
    assert content_type("model.tar.gz") == "binary/octet-stream"
    assert content_type("README") == "binary/octet-stream"


def test_certificates_far_from_expiry_are_kept() -> None:
    existing = emr_certificates("eu-west-1", NOW)

    kept, renewed = current_or_new(existing.archive, "eu-west-1", NOW + timedelta(days=400))

    assert renewed is False
    assert kept.archive == existing.archive
    assert kept.expires == existing.expires


@pytest.mark.parametrize(
    ("existing", "reason"),
    [
        (None, "none yet"),
        (b"not a zip", "unreadable"),
        (emr_certificates("eu-west-1", NOW).archive, "near expiry"),
        (emr_certificates("us-east-1", NOW + timedelta(days=900)).archive, "another Region"),
    ],
)
def test_certificates_are_renewed_when_missing_unreadable_for_another_region_or_near_expiry(
    existing: bytes | None, reason: str
) -> None:
    near_expiry = NOW + timedelta(days=1095) - RENEW_WITHIN + timedelta(days=1)

    bundle, renewed = current_or_new(existing, "eu-west-1", near_expiry)

    assert renewed is True, reason
    assert bundle.hostname == "*.eu-west-1.compute.internal"
    assert bundle.expires == near_expiry + timedelta(days=1095)


def test_a_zip_whose_key_does_not_match_its_certificate_is_not_read() -> None:
    first = unzip(emr_certificates("eu-west-1", NOW).archive)
    second = unzip(emr_certificates("eu-west-1", NOW).archive)
    mixed = io.BytesIO()
    with zipfile.ZipFile(mixed, "w") as archive:
        archive.writestr("privateKey.pem", second["privateKey.pem"])
        archive.writestr("certificateChain.pem", first["certificateChain.pem"])

    assert read_bundle(mixed.getvalue()) is None
