"""The PAdES signature of the certificate PDFs (pyHanko): :func:`pdf_sign` signs the bytes fpdf2
rendered, as an incremental update covering the whole document (PAdES B-B: no timestamp server
is asked, nothing is fetched); :func:`pdf_signature_check` validates one: intact, covering the
whole file, and trusted through the bank's CA.

The signing certificate: in production a key and its chain, or a PKCS#12 file, named by
settings (docs/configuration.md); in development a local CA and a signing certificate made
once with ``cryptography`` and kept in ``CERTIFICATE_PDF_DEV_DIR``, like the Ed25519 key.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import io
import os
import shutil
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from pyhanko.sign.signers import PdfSigner, SimpleSigner

T = TypeVar("T")

SIGNATURE_FIELD = "BankSignature"

_CA_CERT = "ca.pem"
_SIGNER_KEY = "signer.key"
_SIGNER_CERT = "signer.pem"


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(settings.BANK_NAME_EN)),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _dev_material_make(directory: Path) -> None:
    """A local CA (10 years) and a signing certificate it issued (5 years), ECDSA P-256."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Development certificate CA (not for production)")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Certificate signing (development)"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / _CA_CERT).write_bytes(ca_cert.public_bytes(pem))
    (directory / _SIGNER_CERT).write_bytes(cert.public_bytes(pem))
    key_path = directory / _SIGNER_KEY
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    # The CA's key is not kept: the development CA issues this one certificate only.


def _dev_dir() -> Path:
    """The development CA and signing certificate, made once. They are made in a scratch
    directory renamed into place, so two processes starting at once end up with the first
    one's."""
    directory = Path(settings.CERTIFICATE_PDF_DEV_DIR)
    if not (directory / _SIGNER_KEY).exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".pdf-signing-"))
        try:
            _dev_material_make(scratch)
            os.rename(scratch, directory)
        except OSError:
            if not (directory / _SIGNER_KEY).exists():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return directory


@dataclass(frozen=True)
class _Material:
    key_file: str
    certs_file: str
    pkcs12_file: str
    pkcs12_password: str
    trust_roots_file: str


def _material() -> _Material:
    key_file = str(settings.CERTIFICATE_PDF_SIGNING_KEY_FILE or "")
    certs_file = str(settings.CERTIFICATE_PDF_SIGNING_CERTS_FILE or "")
    pkcs12_file = str(settings.CERTIFICATE_PDF_PKCS12_FILE or "")
    roots = str(settings.CERTIFICATE_PDF_TRUST_ROOTS or "")
    if pkcs12_file or (key_file and certs_file):
        return _Material(
            key_file, certs_file, pkcs12_file, str(settings.CERTIFICATE_PDF_PKCS12_PASSWORD), roots
        )
    if key_file or certs_file:
        raise ImproperlyConfigured(
            "CERTIFICATE_PDF_SIGNING_KEY_FILE and CERTIFICATE_PDF_SIGNING_CERTS_FILE go together."
        )
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured(
            "The PDF signing certificate is required in production: "
            "CERTIFICATE_PDF_PKCS12_FILE, or CERTIFICATE_PDF_SIGNING_KEY_FILE and "
            "CERTIFICATE_PDF_SIGNING_CERTS_FILE."
        )
    directory = _dev_dir()
    return _Material(
        str(directory / _SIGNER_KEY),
        str(directory / _SIGNER_CERT) + os.pathsep + str(directory / _CA_CERT),
        "",
        "",
        roots or str(directory / _CA_CERT),
    )


def _signer() -> SimpleSigner:
    """The configured signer, read once per process while its files stay the same (reading
    and parsing the key and chain for every PDF was a tenth of a render)."""
    material = _material()
    files = [material.key_file, material.pkcs12_file, *material.certs_file.split(os.pathsep)]
    stamps = tuple(_stamp(path) for path in files if path)
    return _signer_loaded(material, stamps)


def _stamp(path: str) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (path, 0, 0)
    return (path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _signer_loaded(material: _Material, stamps: tuple[tuple[str, int, int], ...]) -> SimpleSigner:
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.sign import signers

    if material.pkcs12_file:
        signer = signers.SimpleSigner.load_pkcs12(
            material.pkcs12_file, passphrase=material.pkcs12_password.encode() or None
        )
        if signer is None:
            raise ImproperlyConfigured("CERTIFICATE_PDF_PKCS12_FILE could not be read.")
        return signer
    from pyhanko.keys import load_private_key_from_pemder
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    # The signer's certificate first, then its issuers: one file or several joined by ":".
    try:
        chain = list(load_certs_from_pemder(material.certs_file.split(os.pathsep)))
        key = load_private_key_from_pemder(material.key_file, passphrase=None)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"The PDF signing key or certificates: {exc}") from exc
    if not chain:
        raise ImproperlyConfigured("CERTIFICATE_PDF_SIGNING_CERTS_FILE holds no certificate.")
    return signers.SimpleSigner(
        signing_cert=chain[0],
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )


def trust_roots() -> list[asn1_x509.Certificate]:
    """The certificates a PDF signature must chain to: CERTIFICATE_PDF_TRUST_ROOTS, else the
    self-signed certificates of the configured chain (in development, the local CA)."""
    from pyhanko.keys import load_certs_from_pemder

    material = _material()
    if material.trust_roots_file:
        return list(load_certs_from_pemder([material.trust_roots_file]))
    if material.pkcs12_file:
        signer = _signer()
        candidates = list(signer.cert_registry)
    else:
        candidates = list(load_certs_from_pemder(material.certs_file.split(os.pathsep)))
    return [cert for cert in candidates if cert.self_signed]


def pdf_trust_roots_pem() -> str:
    """:func:`trust_roots` as PEM text, as published for offline checks."""
    from asn1crypto import pem

    return b"".join(pem.armor("CERTIFICATE", cert.dump()) for cert in trust_roots()).decode()


def pdf_sign(pdf: bytes) -> bytes:
    """``pdf`` with the bank's PAdES signature (B-B), added as an incremental update whose
    signed byte range is the whole file."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=str(settings.BANK_NAME_EN),
        reason="Certificate issued by the bank",
    )
    signer = _signer()
    cert_key = bytes(signer.signing_cert.sha256) if signer.signing_cert else b""
    pdf_signer = _pdf17_signer_class()(meta, signer)
    output = _synchronously(
        pdf_signer.async_sign_pdf(writer, bytes_reserved=_bytes_reserved.get(cert_key))
    )
    signed = output.getvalue()
    if cert_key not in _bytes_reserved:
        _bytes_reserved[cert_key] = _reserved_in(signed)
    return signed


# The room pyHanko left for the signature (in hexadecimal digits) in the first PDF a signing
# certificate signed in this process. pyHanko estimates it by making a dummy signature first,
# a third of the signing time when done for every PDF; the same certificate and chain need
# the same room.
_bytes_reserved: dict[bytes, int] = {}


def _reserved_in(signed: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    # The hole the byte range leaves is the /Contents string: its hexadecimal digits and the
    # two angle brackets around them.
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    _, first_length, second_start, _ = reader.embedded_signatures[-1].sig_object["/ByteRange"]
    return int(second_start) - int(first_length) - 2


@functools.cache
def _pdf17_signer_class() -> type[PdfSigner]:
    from pyhanko.sign import signers

    class Pdf17Signer(signers.PdfSigner):
        """pyHanko's signer, except that the document stays PDF 1.7: for an ECDSA (or EdDSA)
        key pyHanko declares ISO/TS 32002 and raises the version to 2.0, which a PDF/A-3 (a
        PDF 1.7 profile) must not claim. PAdES with ECDSA is PDF 1.7's as well (ETSI's
        extension, which is still declared)."""

        def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
            from pyhanko.sign.fields import SigSeedSubFilter
            from pyhanko.sign.signers import constants

            if self.signature_meta.subfilter == SigSeedSubFilter.PADES:
                pdf_out.ensure_output_version(version=(1, 7))
                pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    return Pdf17Signer


@dataclass(frozen=True)
class PdfSignatureCheck:
    """The outcome of checking a PDF's PAdES signature."""

    state: str  # "valid", "none" (an old, unsigned PDF), "broken", "untrusted"
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == "valid"


def _synchronously(work: Coroutine[Any, Any, T]) -> T:
    """Run pyHanko's coroutine to its end from synchronous code. Its own synchronous wrappers
    call ``asyncio.run``, which refuses to run in a thread whose event loop is running (an
    async caller, or a test driving a browser): then the coroutine runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def pdf_signature_check(
    data: bytes, *, roots: list[asn1_x509.Certificate] | None = None
) -> PdfSignatureCheck:
    """Validate the last PDF signature of ``data``: its digest and CMS signature intact, its
    byte range the whole file (nothing appended after it), and its certificate trusted through
    ``roots`` (default: :func:`trust_roots`). Never raises on a bad document."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:
        return PdfSignatureCheck("broken", f"unreadable PDF: {exc or type(exc).__name__}")
    if not signatures:
        return PdfSignatureCheck("none", "no PDF signature")
    signature = signatures[-1]
    try:
        context = ValidationContext(
            trust_roots=roots if roots is not None else trust_roots(),
            allow_fetching=False,
        )
        status = _synchronously(async_validate_pdf_signature(signature, context))
    except Exception as exc:
        return PdfSignatureCheck("broken", f"PDF signature broken: {exc or type(exc).__name__}")
    if not status.intact:
        return PdfSignatureCheck("broken", "PDF signature broken: the signed bytes were changed")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return PdfSignatureCheck(
            "broken",
            "PDF signature broken: the document was changed after it was signed "
            "(an update appended after the signature)",
        )
    if not status.valid:
        return PdfSignatureCheck("broken", "PDF signature broken: the signature does not match")
    if not status.trusted:
        return PdfSignatureCheck(
            "untrusted", "PDF signature intact but not made by a certificate of the bank's CA"
        )
    subject = status.signing_cert.subject.human_friendly
    return PdfSignatureCheck("valid", f"PDF signature valid, whole document, signed by {subject}")
