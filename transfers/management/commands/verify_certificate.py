"""Check a downloaded certificate offline: ``python manage.py verify_certificate FILE``.

FILE is the certificate's PDF (its embedded ``certificate.json`` holds the signed content and the
signature; a PDF/A-3 also has the Verifiable Credential attached, ``credential.jsonld``) or its
Verifiable Credential JSON. The key is the bank's published public key: give
it with ``--public-key`` (a file with the PEM or the base64 raw key, as served at
``/api/v1/certificates/signing-key/``, or the base64 itself); without it, the keys this
installation is configured with are used. A PDF's PAdES signature is checked too (intact,
covering the whole file, trusted through the bank's CA: ``--pdf-trust-roots`` names a PEM file
of the CA's certificate; without it, this installation's), and a PDF/A's attached credential
(its proof, that it is this certificate's, and that the printed page shows the signed serial
and figures). Prints GENUINE or NOT GENUINE and which part failed; exits 1 when not.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from transfers.certificates.signing import public_key_from_text
from transfers.certificates.verification import signed_document_check


class Command(BaseCommand):
    help = "Check the signature of a certificate PDF or Verifiable Credential JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The certificate PDF or credential JSON.")
        parser.add_argument(
            "--public-key",
            help="The published public key: a file (PEM or base64) or the base64 text.",
        )
        parser.add_argument(
            "--pdf-trust-roots",
            help="A PEM file of the bank's CA certificate(s) the PDF signature must chain to.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        key = None
        if options.get("public_key"):
            text = options["public_key"]
            candidate = Path(text)
            if candidate.is_file():
                text = candidate.read_text()
            try:
                key = public_key_from_text(text)
            except ValueError as exc:
                raise CommandError(f"not an Ed25519 public key: {exc}") from exc
        roots = None
        if options.get("pdf_trust_roots"):
            from pyhanko.keys import load_certs_from_pemder

            try:
                roots = list(load_certs_from_pemder([options["pdf_trust_roots"]]))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the CA certificates: {exc}") from exc
        result = signed_document_check(data, key=key, pdf_roots=roots)
        label = f"{result.kind}, serial {result.serial}" if result.serial else result.kind
        if result.genuine:
            self.stdout.write(f"GENUINE ({label})")
            if result.pdf_signature:
                self.stdout.write(result.pdf_signature)
            if result.attachment:
                self.stdout.write(f"Attachment: {result.attachment}")
            # The Ed25519 signature covers the embedded data; the PDF signature (when there is
            # one) covers the printed page.
            self.stdout.write(f"Signed content: {result.detail}")
            return
        self.stdout.write(f"NOT GENUINE ({label}){': ' + result.detail if result.detail else ''}")
        # Each part of a PDF that was checked, so the one that failed is plain.
        if result.pdf_signature:
            self.stdout.write(f"PDF signature: {result.pdf_signature}")
        if result.attachment:
            self.stdout.write(f"Attachment: {result.attachment}")
        sys.exit(1)
