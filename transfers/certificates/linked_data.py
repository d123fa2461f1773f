"""The credential's Data Integrity proof, ``eddsa-rdfc-2022`` (W3C vc-di-eddsa), made and
checked in Python, and the bank's controller document its verification method resolves to.

The proof: the credential without ``proof`` and the proof options (the proof without
``proofValue``, with the credential's ``@context``) are each canonicalized with RDF Dataset
Canonicalization (RDFC-1.0, pyld's URDNA2015) into N-Quads; the signature is Ed25519 over
``SHA-256(canonical proof options) || SHA-256(canonical credential)``, written as multibase
base58btc (``z...``). Canonicalization works on the RDF graph, so a credential re-serialised
with other key order or spacing (a JavaScript wallet saving it) still verifies.

JSON-LD contexts are served from the files in ``contexts/`` (vendored: the W3C ones as the
Digital Bazaar packages ship them, the Open Badges 3.0 and CLR 2.0 ones as 1EdTech publishes
them; ``contexts/README.md`` says where each came from): nothing is ever fetched; a credential
naming any other context is simply not verifiable here.

The issuer is ``did:web`` of the portal's host; its controller document is served at
``/.well-known/did.json`` with each trusted key as a Multikey (``z6Mk...``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from accounts.notifications.services import portal_url

from .signing import base58btc_decode, base58btc_encode, key_id_of, public_keys, raw_public

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# The VC 2.0 base context has no @vocab: the bank's own terms (credits, learning hours...) are
# mapped by the standard "undefined terms" context until they get a published vocabulary.
UNDEFINED_TERMS_CONTEXT = "https://www.w3.org/ns/credentials/undefined-terms/v2"
# Open Badges 3.0 and CLR 2.0 (1EdTech); "extensions" defines ``1EdTechJsonSchemaValidator2019``,
# the type of the ``credentialSchema`` entries (without it the term is undefined and a JSON-LD
# processor in safe mode, as the stock verifiers run, refuses the credential).
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

_CONTEXT_FILES = {
    VC_CONTEXT: "credentials-v2.jsonld",
    UNDEFINED_TERMS_CONTEXT: "credentials-undefined-terms-v2.jsonld",
    OB_CONTEXT: "ob-v3p0-context-3.0.3.json",
    OB_EXTENSIONS_CONTEXT: "ob-v3p0-extensions.json",
    CLR_CONTEXT: "clr-v2p0-context-2.0.1.json",
}
_CONTEXT_DIR = Path(__file__).resolve().parent / "contexts"
# The multicodec prefix of an Ed25519 public key (0xed, as a varint).
_ED25519_PUB = b"\xed\x01"


@cache
def _context(url: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((_CONTEXT_DIR / _CONTEXT_FILES[url]).read_text())
    return document


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld's loader: the vendored contexts only; any other URL is refused (never fetched)."""
    if url not in _CONTEXT_FILES:
        raise jsonld.JsonLdError(
            f"Context not served offline: {url}",
            "jsonld.LoadDocumentError",
            code="loading document failed",
        )
    return {"contextUrl": None, "documentUrl": url, "document": _context(url)}


def canonical_nquads(document: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    result: str = jsonld.normalize(
        document,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
        },
    )
    return result


def _hash_data(unsecured: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    options = {**proof_options, "@context": unsecured.get("@context")}
    options.pop("proofValue", None)
    return (
        hashlib.sha256(canonical_nquads(options).encode()).digest()
        + hashlib.sha256(canonical_nquads(unsecured).encode()).digest()
    )


def xsd_datetime(moment: datetime.datetime) -> str:
    """A moment as the credentials write it: UTC, whole seconds, ``Z``."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- The issuer's identifier and controller document ----------------------------------------------


def issuer_did() -> str:
    """``did:web`` of the portal's host (a port is written ``%3A``; a path adds segments)."""
    parts = urlsplit(portal_url() or "http://localhost")
    did = "did:web:" + quote(parts.netloc or "localhost", safe="")
    segments = [s for s in parts.path.split("/") if s]
    return ":".join([did, *segments])


def verification_method_id(public_key: Ed25519PublicKey) -> str:
    return f"{issuer_did()}#{key_id_of(public_key)}"


def multikey_of(public_key: Ed25519PublicKey) -> str:
    """The Multikey form of an Ed25519 public key: ``z6Mk...``."""
    return "z" + base58btc_encode(_ED25519_PUB + raw_public(public_key))


def controller_document() -> dict[str, Any]:
    """The bank's DID document: every key certificates may be signed with (the current one
    and the retired ones still trusted), each allowed to assert credentials."""
    did = issuer_did()
    methods = [
        {
            "id": f"{did}#{key_id}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey_of(key),
        }
        for key_id, key in public_keys().items()
    ]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


# --- Proofs -------------------------------------------------------------------------------------


def proof_add(
    unsecured: dict[str, Any], *, key: Ed25519PrivateKey, created: datetime.datetime
) -> dict[str, Any]:
    """``unsecured`` with an ``eddsa-rdfc-2022`` proof made with ``key``."""
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": xsd_datetime(created),
        "verificationMethod": verification_method_id(key.public_key()),
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(_hash_data(unsecured, proof))
    return {**unsecured, "proof": {**proof, "proofValue": "z" + base58btc_encode(signature)}}


def is_rdfc_secured(document: Any) -> bool:
    """Whether a credential carries this cryptosuite's proof (the shape of credentials issued
    since; older ones carry the simplified ``eddsa-jcs-2022``-style proof)."""
    proof = document.get("proof") if isinstance(document, dict) else None
    return (
        isinstance(proof, dict)
        and proof.get("type") == PROOF_TYPE
        and proof.get("cryptosuite") == CRYPTOSUITE
    )


def multikey_decode(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its Multikey form (``z6Mk...``). Raises ValueError."""
    if not text.startswith("z"):
        raise ValueError("not a base58btc multibase value")
    raw = base58btc_decode(text[1:])
    if not raw.startswith(_ED25519_PUB) or len(raw) != len(_ED25519_PUB) + 32:
        raise ValueError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[len(_ED25519_PUB) :])


def assertion_keys(key_document: Any) -> dict[str, Ed25519PublicKey]:
    """The keys a controller document (another bank's ``did.json``, as its trust list entry
    keeps it) allows to assert credentials, by verification method id. Methods that are not
    Ed25519 Multikeys, or not listed under ``assertionMethod``, are left out; a document that
    is not one has none. Never raises."""
    if not isinstance(key_document, dict):
        return {}
    did = key_document.get("id")
    assertion = key_document.get("assertionMethod")
    allowed = {m for m in assertion if isinstance(m, str)} if isinstance(assertion, list) else set()
    keys = {}
    for method in key_document.get("verificationMethod") or []:
        if not isinstance(method, dict) or method.get("id") not in allowed:
            continue
        if method.get("type") != "Multikey" or method.get("controller") != did:
            continue
        try:
            keys[str(method["id"])] = multikey_decode(str(method.get("publicKeyMultibase")))
        except (ValueError, TypeError):
            continue
    return keys


def proof_check(
    document: dict[str, Any],
    *,
    key: Ed25519PublicKey | None = None,
    key_document: dict[str, Any] | None = None,
) -> bool:
    """Whether ``document``'s ``eddsa-rdfc-2022`` proof holds: with ``key`` if given; else
    with the key ``key_document`` (an issuer's controller document) lists under the
    verification method the proof names, which must be the document's issuer's; else with the
    bank's key its verification method names. Never raises on bad input."""
    try:
        proof = dict(document["proof"])
        value = str(proof.get("proofValue", ""))
        if not value.startswith("z") or proof.get("proofPurpose") != "assertionMethod":
            return False
        if key is None and key_document is not None:
            method = str(proof.get("verificationMethod", ""))
            issuer = document.get("issuer")
            issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
            if method.partition("#")[0] != issuer_id or issuer_id != key_document.get("id"):
                return False
            key = assertion_keys(key_document).get(method)
            if key is None:
                return False
        if key is None:
            method = str(proof.get("verificationMethod", ""))
            did, _, key_id = method.partition("#")
            issuer = document.get("issuer")
            issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
            if did != issuer_id:
                return False
            key = public_keys().get(key_id)
            if key is None:
                return False
        unsecured = {k: v for k, v in document.items() if k != "proof"}
        key.verify(base58btc_decode(value[1:]), _hash_data(unsecured, proof))
    except (
        InvalidSignature,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        jsonld.JsonLdError,
    ):
        return False
    return True
