"""TLS material for EMR's in-transit encryption: a self-signed certificate in a zip.

EMR takes "PEM certificates in a zip in S3": ``privateKey.pem``, ``certificateChain.pem``
and ``trustedCertificates.pem`` (EMR Management Guide, "Providing certificates for
encrypting data in transit":
https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-encryption-enable.html).
Every node presents the certificate under its internal DNS name, so the certificate names
the Region's internal DNS wildcard, as that guide shows.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PRIVATE_KEY = "privateKey.pem"
CERTIFICATE_CHAIN = "certificateChain.pem"
TRUSTED_CERTIFICATES = "trustedCertificates.pem"
KEY_SIZE = 2048
VALID_DAYS = 1095
CLOCK_SKEW = timedelta(minutes=5)
RENEW_WITHIN = timedelta(days=180)
"""A deploy renews a certificate this close to expiry, and otherwise keeps it: every node
of a cluster must present one its peers trust, and a node that joins a running cluster
(a replaced Spot task node) reads the zip again."""

_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")


@dataclass(frozen=True)
class TlsBundle:
    """The zip EMR reads, and what it holds.

    Attributes
    ----------
    archive : bytes
        Zip with :data:`PRIVATE_KEY`, :data:`CERTIFICATE_CHAIN` and
        :data:`TRUSTED_CERTIFICATES`.
    hostname : str
        The DNS wildcard the certificate is issued for (subject CN and SAN).
    expires : datetime
        The certificate's ``not_valid_after``, in UTC.
    """

    archive: bytes
    hostname: str
    expires: datetime


def internal_dns_wildcard(region: str) -> str:
    """Return the wildcard of the Region's internal EC2 host names.

    ``*.ec2.internal`` in us-east-1, ``*.<region>.compute.internal`` elsewhere.

    Raises
    ------
    ValueError
        For something that is not a Region name.
    """
    if not _REGION.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS Region name")
    return "*.ec2.internal" if region == "us-east-1" else f"*.{region}.compute.internal"


def emr_certificates(region: str, now: datetime, valid_days: int = VALID_DAYS) -> TlsBundle:
    """Generate a new key and self-signed certificate for EMR nodes in ``region``.

    Parameters
    ----------
    region : str
        Where the clusters run (their internal DNS names depend on it).
    now : datetime
        A timezone-aware time; validity starts :data:`CLOCK_SKEW` before it, so nodes
        whose clocks lag a little still accept the certificate.
    valid_days : int, optional
        Days from ``now`` until the certificate expires (three years by default).

    Returns
    -------
    TlsBundle
        The zip in the layout EMR's PEM certificate provider reads.

    Raises
    ------
    ValueError
        For a naive ``now``, a validity that is not positive, or a bad Region name.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if valid_days <= 0:
        raise ValueError(f"valid_days must be positive, not {valid_days}")
    hostname = internal_dns_wildcard(region)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    files = {
        PRIVATE_KEY: key_pem,
        CERTIFICATE_CHAIN: certificate_pem,
        TRUSTED_CERTIFICATES: certificate_pem,
    }
    return TlsBundle(
        archive=_zip(files, now),
        hostname=hostname,
        expires=certificate.not_valid_after_utc,
    )


def read_bundle(archive: bytes) -> TlsBundle | None:
    """Read a zip :func:`emr_certificates` wrote; ``None`` for anything else.

    Anything else includes a zip whose private key does not match its certificate.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            key_pem, certificate_pem = (
                opened.read(name) for name in (PRIVATE_KEY, CERTIFICATE_CHAIN)
            )
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, x509.ExtensionNotFound):
        return None
    [hostname] = names.value.get_values_for_type(x509.DNSName)
    if key.public_key() != certificate.public_key():
        return None
    return TlsBundle(archive=archive, hostname=hostname, expires=certificate.not_valid_after_utc)


def current_or_new(existing: bytes | None, region: str, now: datetime) -> tuple[TlsBundle, bool]:
    """Keep the certificates in ``existing`` unless they need renewing; else make new ones.

    They are renewed when missing or unreadable, issued for another Region's host names,
    or within :data:`RENEW_WITHIN` of expiry.

    Returns
    -------
    tuple[TlsBundle, bool]
        The bundle to use, and whether it is new (and must be written).
    """
    kept = read_bundle(existing) if existing is not None else None
    if (
        kept is not None
        and kept.hostname == internal_dns_wildcard(region)
        and kept.expires - now > RENEW_WITHIN
    ):
        return kept, False
    return emr_certificates(region, now), True


def _zip(files: dict[str, bytes], now: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            entry = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, body)
    return buffer.getvalue()
