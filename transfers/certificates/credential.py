"""The certificate as a W3C Verifiable Credential 2.0 of the 1EdTech shapes, and the public
addresses it names.

- The hours certificate is an Open Badges 3.0 ``AchievementCredential`` (type
  ``OpenBadgeCredential``): the learner (:func:`_subject`) was awarded the achievement "this many
  learning hours and credits in this period", the figures being its ``result`` entries.
- The transcript, the lifelong learning file and the transfer record are CLR 2.0
  ``ClrCredential`` s: their
  ``ClrSubject`` holds one signed ``AchievementCredential`` for the totals and, if the learner
  discloses the list, one for each accredited outcome (and each transferred course on a
  transcript); the learning file lists the outcomes recorded in the file as ``achievement`` s.
  The transfer record always holds the outcomes, each with its provenance and a status bit of
  its own accreditation (:func:`_record_credentials`, ADR 0022).

Each names its 1EdTech JSON Schema in ``credentialSchema`` (vendored in ``schemas/``; the npm
project in tests/vc-verifier validates against them). The learner's disclosure choices hold:
what they left out (name, identity number, account number, the list) is not in it.

Figures are strings (``"6.0"``), as ``Result.value`` is: a JSON number would be re-serialised
by JavaScript as ``6`` and canonicalized to another literal than Python's ``6.0E0``, breaking
the proof. The schemas' numeric fields (``creditsEarned``, ``creditsAvailable``) are not used.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import LearningAccount
from accounts.notifications.services import portal_url
from accounts.services import identity_number_hash

from ..models import Certificate
from .content import both_languages
from .linked_data import (
    CLR_CONTEXT,
    OB_CONTEXT,
    OB_EXTENSIONS_CONTEXT,
    VC_CONTEXT,
    issuer_did,
    proof_add,
    xsd_datetime,
)
from .signing import signing_key
from .status_list import decision_status_entry, status_entry

Kind = Certificate.Kind

OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
CLR_SCHEMA = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"
OB_CONTEXTS = [VC_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
# CLR 2.0: the VC context, then CLR's, then OB's (its schema checks this order).
CLR_CONTEXTS = [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]

# The figures, as result types of the extensible vocabulary ("ext:" names are the spec's way).
FIGURES: dict[str, tuple[str, Any]] = {
    "hours": ("ext:LearningHours", _("Learning hours")),
    "credits": ("ext:Credits", _("Credits")),
    "transferred_credits": ("ext:TransferredCredits", _("Transferred credits")),
    "account_hours": (
        "ext:AccountLearningHours",
        pgettext_lazy("credential figure", "Learning hours in the account"),
    ),
    "account_credits": (
        "ext:AccountCredits",
        pgettext_lazy("credential figure", "Credits in the account"),
    ),
}

# Which identifier of the learner each disclosure choice puts in the credential.
IDENTITIES = (
    ("name", "name"),
    ("id_number", "nationalIdentityNumber"),
    ("account_number", "accountId"),
)


# The IdentityObject type that binds a transfer record to its holder, per identity document: the
# OB enum's nationalIdentityNumber for the resident ID; the two permits are not national
# identity numbers, so they take the spec's extension form.
HOLDER_IDENTITY_TYPES = {
    "resident_id": "nationalIdentityNumber",
    "hmt_residence_permit": "ext:HmtResidencePermitNumber",
    "foreign_permanent_resident": "ext:ForeignPermanentResidentIdNumber",
}


# The claim code's alphabet: Crockford's base32 (no I, L, O, U: nothing to misread or mistype).
CLAIM_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CLAIM_CODE_LENGTH = 16  # 80 bits
CLAIM_CODE_READS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def claim_code_generate() -> str:
    """A new claim code: 16 random characters of Crockford's base32 (80 bits), in groups of
    four for typing (``7KQ2-M9XD-4TAW-HC3R``)."""
    code = "".join(secrets.choice(CLAIM_CODE_ALPHABET) for _ in range(CLAIM_CODE_LENGTH))
    return "-".join(code[n : n + 4] for n in range(0, CLAIM_CODE_LENGTH, 4))


def claim_code_normalise(text: str) -> str:
    """A claim code as typed, as it is hashed: upper case, without spaces and hyphens, the
    letters Crockford's base32 reads as digits (O as 0, I and L as 1) read so; "" for text
    that is not a claim code."""
    code = "".join(text.split()).replace("-", "").upper().translate(CLAIM_CODE_READS)
    if len(code) != CLAIM_CODE_LENGTH or any(c not in CLAIM_CODE_ALPHABET for c in code):
        return ""
    return code


def holder_identity(account: LearningAccount, claim_code: str) -> dict[str, Any] | None:
    """The holder as an OB 3.0 ``IdentityObject``: her full identity number followed by the
    record's claim code, hashed (``hashed: true``, no ``salt``). The claim code is not in the
    record: only its holder has it (her certificates page), so the hash cannot be reversed by
    trying every identity number, and two records of one person cannot be linked by it; the
    receiving bank checks the hash with the number of the account that brings the record and
    the code she types (ADR 0022). None for an account without an identity number."""
    code = claim_code_normalise(claim_code)
    if not code:  # without it the hash is of the number alone: open to trying every number
        raise ValueError("a transfer record is issued with its claim code")
    digest = identity_number_hash(account=account, salt=code)
    if digest is None:
        return None
    return {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": digest,
        "identityType": HOLDER_IDENTITY_TYPES.get(account.id_type, "nationalIdentityNumber"),
    }


def verify_url(serial: str) -> str:
    return f"{portal_url()}/verify/{serial}/"


def issuer_profile() -> dict[str, Any]:
    """The bank as an OB 3.0 ``Profile``: its ``did:web``, its Chinese name (``name``) with the
    English one as ``description`` (the Profile has no alternate-name field, and the context
    defines no language map for ``name``), its address and contact (BANK_* settings)."""
    profile: dict[str, Any] = {
        "id": issuer_did(),
        "type": ["Profile"],
        "name": settings.BANK_NAME_ZH,
        "url": portal_url() + "/",
    }
    if settings.BANK_NAME_EN and settings.BANK_NAME_EN != settings.BANK_NAME_ZH:
        profile["description"] = settings.BANK_NAME_EN
    if settings.BANK_ADDRESS:
        profile["address"] = {"type": ["Address"], "streetAddress": settings.BANK_ADDRESS}
    # BANK_CONTACT is free text ("+86 400 ... · service@..."): the part with an @ is the email,
    # the first other part holding digits the phone.
    parts = [part.strip() for part in str(settings.BANK_CONTACT or "").split("·") if part.strip()]
    email = next((part for part in parts if "@" in part), None)
    phone = next((p for p in parts if "@" not in p and any(c.isdigit() for c in p)), None)
    if email:
        profile["email"] = email
    if phone:
        profile["phone"] = phone
    return profile


def _identifiers(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The learner's identifiers the learner chose to disclose (plain text; the identity
    number is the masked one)."""
    learner = content.get("learner") or {}
    values = {
        "name": learner.get("name", ""),
        "id_number": learner.get("id_number_masked", ""),
        "account_number": learner.get("account_number", ""),
    }
    chosen = set(content.get("disclose") or [])
    return [
        {
            "type": "IdentityObject",
            "hashed": False,
            "identityHash": values[choice],
            "identityType": identity_type,
        }
        for choice, identity_type in IDENTITIES
        if choice in chosen and values[choice]
    ]


def _subject(
    content: Mapping[str, Any], achievement: dict[str, Any], figures: Mapping[str, Any]
) -> dict[str, Any]:
    """An OB 3.0 ``AchievementSubject``: the disclosed learner, the achievement, its figures
    as results (declared by the achievement's ``resultDescription``)."""
    descriptions, results = [], []
    for key, value in figures.items():
        if value in (None, ""):
            continue
        result_type, label = FIGURES[key]
        description_id = f"{achievement['id']}-{key.replace('_', '-')}"
        descriptions.append(
            {
                "id": description_id,
                "type": ["ResultDescription"],
                "name": both_languages(label),
                "resultType": result_type,
            }
        )
        results.append(
            {"type": ["Result"], "resultDescription": description_id, "value": str(value)}
        )
    if descriptions:
        achievement["resultDescription"] = descriptions
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "achievement": achievement}
    identifiers = _identifiers(content)
    if identifiers:
        subject["identifier"] = identifiers
    if results:
        subject["result"] = results
    period = content.get("period")
    if period:
        # ISO 8601 interval (activityStartDate/EndDate are typed differently by the OB context
        # and the OB schema, so either form would be wrong for one of them).
        subject["term"] = f"{period['from']}/{period['to']}"
    return subject


def _achievement(
    achievement_id: str, *, kind: str, name: str, description: str, criteria: str
) -> dict[str, Any]:
    return {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": kind,
        "name": name,
        "description": description,
        "criteria": {"narrative": criteria},
    }


def _achievement_credential(
    credential_id: str,
    content: Mapping[str, Any],
    *,
    name: str,
    description: str,
    subject: dict[str, Any],
    issued_at: datetime.datetime,
    status: dict[str, Any],
) -> dict[str, Any]:
    return {
        "@context": list(OB_CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(),
        "validFrom": xsd_datetime(issued_at),
        "name": name,
        "description": description,
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA, "type": SCHEMA_VALIDATOR}],
        "credentialStatus": status,
    }


def _kind_name(kind: str) -> str:
    return both_languages(Kind(kind).label)


def _totals_description(content: Mapping[str, Any]) -> str:
    totals = content["totals"]
    with translation.override("en"):
        description = f"{totals['hours']} learning hours, {totals['credits']} credits"
    period = content.get("period")
    if period:
        description += f", {period['from']} – {period['to']}"
    return description


def _item_credentials(
    base: str,
    content: Mapping[str, Any],
    *,
    issued_at: datetime.datetime,
    status: dict[str, Any],
) -> list[dict[str, Any]]:
    """One AchievementCredential per accredited outcome, and per transferred course."""
    credentials = []
    for number, item in enumerate(content.get("items") or [], start=1):
        credential_id = f"{base}#item-{number}"
        description = (
            f"{item['hours']} h, {item['credits']} credits, accredited {item['accredited_on']}"
            + (f", {item['centre']}" if item.get("centre") else "")
        )
        achievement = _achievement(
            f"{credential_id}-achievement",
            kind="ext:AccreditedLearning",
            name=item["outcome"],
            description=description,
            criteria=both_languages(_("Accredited by the credit bank.")),
        )
        credentials.append(
            _held_credential(
                credential_id,
                content,
                achievement,
                human_code=item.get("catalogue_code"),
                results={"hours": item["hours"], "credits": item["credits"]},
                name=item["outcome"],
                description=description,
                issued_at=issued_at,
                status=status,
            )
        )
    for number, transfer in enumerate(content.get("transfers") or [], start=1):
        credential_id = f"{base}#transfer-{number}"
        description = (
            f"{transfer['credits']} credits transferred to {transfer['course']} "
            f"({transfer['programme']}, {transfer['institution']}) "
            f"on {transfer['decided_on']}, for {transfer['outcome']}"
        )
        achievement = _achievement(
            f"{credential_id}-achievement",
            kind="Course",
            name=transfer["course"],
            description=description,
            criteria=both_languages(_("Credits transferred by the institution.")),
        )
        credentials.append(
            _held_credential(
                credential_id,
                content,
                achievement,
                human_code=transfer.get("course_code"),
                results={"transferred_credits": transfer["credits"]},
                name=transfer["course"],
                description=description,
                issued_at=issued_at,
                status=status,
            )
        )
    return credentials


# The identifier types of a transfer record's provenance (the spec's "ext:" extension form).
DECISION_ID_TYPE = "ext:AccreditationDecisionId"
CENTRE_CODE_TYPE = "ext:CentreCode"


def _record_credentials(
    base: str, content: Mapping[str, Any], *, issued_at: datetime.datetime
) -> list[dict[str, Any]]:
    """A transfer record's outcomes, one AchievementCredential each, carrying what another
    bank books them with: the catalogue entry (``humanCode``) and its ``version``, the
    decision's id (an ``otherIdentifier`` of the achievement, which stands for this one
    accreditation), the decision's moment (``awardedDate``), the deciding centre as the
    subject's ``source`` (name, code), hours and credits; and the status bit of that
    accreditation, so that revoking one outcome revokes that credential only."""
    credentials = []
    for item in content.get("items") or []:
        decision_id = item["decision_id"]
        credential_id = f"{base}#decision-{decision_id}"
        description = (
            f"{item['hours']} h, {item['credits']} credits, accredited {item['accredited_on']}, "
            f"{item['centre']}"
        )
        achievement = _achievement(
            f"{credential_id}-achievement",
            kind="ext:AccreditedLearning",
            name=item["outcome"],
            description=description,
            criteria=both_languages(_("Accredited by the credit bank.")),
        )
        if item.get("catalogue_version"):
            achievement["version"] = item["catalogue_version"]
        achievement["otherIdentifier"] = [
            {
                "type": "IdentifierEntry",
                "identifier": decision_id,
                "identifierType": DECISION_ID_TYPE,
            }
        ]
        credential = _held_credential(
            credential_id,
            content,
            achievement,
            human_code=item.get("catalogue_code"),
            results={"hours": item["hours"], "credits": item["credits"]},
            name=item["outcome"],
            description=description,
            issued_at=issued_at,
            status=decision_status_entry(int(decision_id)),
        )
        credential["credentialSubject"]["source"] = {
            "id": f"{issuer_did()}#centre-{item['centre_code']}",
            "type": ["Profile"],
            "name": item["centre"],
            "otherIdentifier": [
                {
                    "type": "IdentifierEntry",
                    "identifier": item["centre_code"],
                    "identifierType": CENTRE_CODE_TYPE,
                }
            ],
        }
        credential["awardedDate"] = item["decided_at"]
        credentials.append(credential)
    return credentials


def _held_credential(
    credential_id: str,
    content: Mapping[str, Any],
    achievement: dict[str, Any],
    *,
    human_code: str | None,
    results: dict[str, Any],
    name: str,
    description: str,
    issued_at: datetime.datetime,
    status: dict[str, Any],
) -> dict[str, Any]:
    """One outcome's or course's AchievementCredential inside a CLR: no term of its own."""
    if human_code:
        achievement["humanCode"] = human_code
    subject = _subject(content, achievement, results)
    subject.pop("term", None)
    return _achievement_credential(
        credential_id,
        content,
        name=name,
        description=description,
        subject=subject,
        issued_at=issued_at,
        status=status,
    )


def _outcome_achievements(base: str, content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The learning file's outcomes (recorded, not necessarily accredited) as achievements."""
    achievements = []
    for number, outcome in enumerate(content.get("outcomes") or [], start=1):
        span = " – ".join(part for part in (outcome.get("from"), outcome.get("to")) if part)
        details = [outcome.get("provider") or "", span]
        if outcome.get("hours"):
            details.append(f"{outcome['hours']} h")
        achievements.append(
            _achievement(
                f"{base}#outcome-{number}",
                kind="ext:LearningOutcome",
                name=outcome["title"],
                description=", ".join(part for part in details if part),
                criteria=both_languages(_("Recorded in the learner's lifelong learning file.")),
            )
        )
    return achievements


def credential_build(
    certificate: Certificate, content: Mapping[str, Any], *, issued_at: datetime.datetime
) -> dict[str, Any]:
    """The certificate as a VC 2.0 credential of its 1EdTech shape (module docstring), issued
    by the bank's ``did:web`` and secured with an ``eddsa-rdfc-2022`` Data Integrity proof
    (:mod:`.linked_data`), which stock verifiers check offline; the credentials a CLR holds
    carry the same proof each. Its ``credentialStatus`` is a bit of a Bitstring Status List
    (:mod:`.status_list`); revoking the certificate revokes the credentials it holds too."""
    key, created = signing_key(), timezone.now()
    base = verify_url(certificate.serial)
    status = status_entry(certificate)
    chosen = set(content.get("disclose") or [])
    totals = content["totals"]
    name = _kind_name(certificate.kind)
    description = _totals_description(content)
    summary = _achievement(
        f"{base}#achievement",
        kind="Certificate" if certificate.kind == Kind.HOURS_CERTIFICATE else "ext:LearningRecord",
        name=name,
        description=description,
        criteria=both_languages(
            _("Learning recorded in the learner's account and accredited by the credit bank.")
        ),
    )
    if certificate.kind == Kind.HOURS_CERTIFICATE:
        credential = _achievement_credential(
            base,
            content,
            name=name,
            description=description,
            subject=_subject(
                content, summary, {"hours": totals["hours"], "credits": totals["credits"]}
            ),
            issued_at=issued_at,
            status=status,
        )
        if "items" in chosen and content.get("items"):
            credential["evidence"] = [
                {
                    "type": ["Evidence"],
                    "name": item["outcome"],
                    "description": f"{item['hours']} h, {item['credits']} credits, "
                    f"accredited {item['accredited_on']}",
                }
                for item in content["items"]
            ]
        return proof_add(credential, key=key, created=created)

    figures = {key_: totals.get(key_) for key_ in FIGURES}
    held = [
        _achievement_credential(
            f"{base}#totals",
            content,
            name=name,
            description=description,
            subject=_subject(content, summary, figures),
            issued_at=issued_at,
            status=status,
        )
    ]
    achievements: list[dict[str, Any]] = []
    if certificate.kind == Kind.TRANSFER_RECORD:
        held += _record_credentials(base, content, issued_at=issued_at)
    elif "items" in chosen:
        held += _item_credentials(base, content, issued_at=issued_at, status=status)
        achievements = _outcome_achievements(base, content)
    clr_subject: dict[str, Any] = {
        "type": ["ClrSubject"],
        "verifiableCredential": [proof_add(c, key=key, created=created) for c in held],
    }
    identifiers = _identifiers(content)
    if certificate.kind == Kind.TRANSFER_RECORD:
        # Always, whatever the learner disclosed: hashed with the claim code, which only the
        # holder has, it says nothing of the number; without it anyone could bring the record.
        holder = holder_identity(certificate.account, certificate.claim_code)
        if holder is not None:
            identifiers.append(holder)
    if identifiers:
        clr_subject["identifier"] = identifiers
    if achievements:
        clr_subject["achievement"] = achievements
    clr: dict[str, Any] = {
        "@context": list(CLR_CONTEXTS),
        "id": base,
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer_profile(),
        "validFrom": xsd_datetime(issued_at),
        "name": name,
        "description": description,
        "credentialSubject": clr_subject,
        "credentialSchema": [{"id": CLR_SCHEMA, "type": SCHEMA_VALIDATOR}],
        "credentialStatus": status,
    }
    return proof_add(clr, key=key, created=created)
