"""The public verification page in plain words, as an employer reads it: at the top whether the
certificate is genuine and current (or since when revoked, and why in a category), who issued it
and what it certifies in one sentence; the technical details folded away; a typed serial with a
typo told where it looks wrong; older certificates shown as well; nothing the learner did not
disclose, and nothing kept by a cache. In Chinese (the default) and English."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accreditation.models import Revocation
from transfers.certificates import issuing as certificates
from transfers.certificates.signing import base58btc_encode, canonical_bytes, content_sign
from transfers.certificates.signing import signing_key as bank_key
from transfers.models import Certificate

from .test_certificates import issue

pytestmark = pytest.mark.django_db

ZH, EN = "zh-hans", "en"
# A serial with the check symbol right, and one issued in the old style (before checks).
FIXED = "70K2-M19Q-PD4R-8TZX-F4"


@pytest.fixture
def world(certificate_world, settings):
    settings.BANK_NAME_ZH = "重庆学分银行"
    settings.BANK_NAME_EN = "Chongqing Credit Bank"
    settings.BANK_ADDRESS = "重庆市渝中区学分路 9 号"
    settings.BANK_CONTACT = "023-6000 0000"
    return certificate_world


def read(client: Client, url: str, language: str) -> tuple[int, str, Any]:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    return response.status_code, response.content.decode(), response


def top_of(page: str) -> str:
    """The page above its folded technical details."""
    return page.split('data-testid="technical"')[0]


@pytest.mark.parametrize(
    ("language", "verdict", "statement"),
    [
        (
            ZH,
            "此证书由重庆学分银行出具，内容未经改动，目前有效。",
            "重庆学分银行证明：李爱丽在 2024-01-01 至 2024-12-31 期间的学习，"
            "经学分银行认定学习时长 120.0 学时、学分 6.0 分。",
        ),
        (
            EN,
            "Chongqing Credit Bank issued this certificate, it has not been changed, and it "
            "holds today.",
            "Chongqing Credit Bank certifies that for learning between 2024-01-01 and "
            "2024-12-31, 李爱丽 has 120.0 learning hours and 6.0 credits accredited by the "
            "credit bank.",
        ),
    ],
)
def test_a_genuine_current_certificate_says_so_in_plain_words_at_the_top(
    world, django_capture_on_commit_callbacks, client, language, verdict, statement
):
    certificate = issue(world, django_capture_on_commit_callbacks, disclose=["name", "items"])

    status, page, response = read(client, f"/verify/{certificate.serial}/", language)

    assert status == 200
    top = top_of(page)
    assert verdict in top
    assert statement in top
    # Who issued it: the bank's names, address and contact from the settings.
    issuer = ("重庆学分银行", "Chongqing Credit Bank", "重庆市渝中区学分路 9 号", "023-6000 0000")
    for said in issuer:
        # A Chinese page names the bank in Chinese only (the English name sits on English pages).
        if language == ZH and said == "Chongqing Credit Bank":
            block = top.split('data-testid="issuer"')[1].split("</p>")[0]
            assert said not in block
            continue
        assert said in top
    colon = "：" if language == ZH else ": "  # a full-width colon in Chinese
    assert colon + "重庆市渝中区学分路 9 号" in top
    assert colon + "023-6000 0000" in top
    assert world["outcome"].title in top
    # The technical details are there, folded.
    technical = page.split('data-testid="technical"')[1]
    assert "<details" in page.split('data-testid="technical"')[0][-40:]
    for detail in ("eddsa-rdfc-2022", "did:web:", "/credentials/status/0", certificate.key_id):
        assert detail in technical
    assert f"/api/v1/certificates/verify/{certificate.serial}/" in technical
    # Not disclosed: neither the masked identity number nor the account number.
    assert "5001**********123X" not in page
    assert world["account"].number not in page
    # Personal data on a page nobody signed in to: no browser or proxy keeps it.
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("language", "holder"),
    [(ZH, "本证书持有人（持有人选择不公开姓名）"), (EN, "the holder of this certificate")],
)
def test_a_holder_who_did_not_show_their_name_is_called_the_holder(
    world, django_capture_on_commit_callbacks, client, language, holder
):
    certificate = issue(world, django_capture_on_commit_callbacks, disclose=[])

    status, page, _ = read(client, f"/verify/{certificate.serial}/", language)

    assert status == 200
    assert holder in page
    assert "李爱丽" not in page
    assert world["outcome"].title not in page


@pytest.mark.parametrize(
    ("language", "verdict", "reason"),
    [
        (ZH, "此证书由重庆学分银行出具，但已于 2025-03-04 撤销，不再有效。", "原因："),
        (
            EN,
            "Chongqing Credit Bank issued this certificate, but it was revoked on 2025-03-04: "
            "it no longer holds.",
            "Reason: The evidence proved false.",
        ),
    ],
)
def test_a_revoked_certificate_says_since_when_and_the_reason_category_but_not_the_reason(
    world, django_capture_on_commit_callbacks, client, centre_admin, language, verdict, reason
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    Revocation.objects.create(
        decision=world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造，见公安通报第 77 号",
        revoked_by=centre_admin,
        revoked_at=datetime.datetime(2025, 3, 4, 10, 0, tzinfo=datetime.UTC),
    )

    status, page, _ = read(client, f"/verify/{certificate.serial}/", language)

    assert status == 200
    top = top_of(page)
    assert verdict in top
    assert reason in top
    assert 'data-testid="status">' in top
    # The category is public; the centre's own words about the case are not.
    assert "公安通报" not in page


def test_a_certificate_revoked_after_it_was_verified_reads_revoked_at_once(
    world, django_capture_on_commit_callbacks, client, centre_admin
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    before = read(client, f"/verify/{certificate.serial}/", EN)[1]
    Revocation.objects.create(
        decision=world["decision"],
        reason_code=Revocation.ReasonCode.EVIDENCE_FALSE,
        reason="证书系伪造",
        revoked_by=centre_admin,
        revoked_at=datetime.datetime(2025, 3, 4, 10, 0, tzinfo=datetime.UTC),
    )

    after = read(client, f"/verify/{certificate.serial.lower()}/", EN)[1]

    assert "it holds today" in top_of(before)
    assert "it was revoked on 2025-03-04" in top_of(after)
    assert "it holds today" not in top_of(after)


@pytest.mark.parametrize(
    ("language", "verdict"),
    [(ZH, "请勿采信此证书"), (EN, "Do not rely on this certificate")],
)
def test_a_certificate_whose_content_no_longer_matches_its_signature_is_not_to_be_relied_on(
    world, django_capture_on_commit_callbacks, client, language, verdict
):
    certificate = issue(world, django_capture_on_commit_callbacks)
    content = dict(certificate.content or {})
    content["totals"] = {**content["totals"], "hours": "920.0"}
    Certificate.objects.filter(pk=certificate.pk).update(content=content)

    status, page, _ = read(client, f"/verify/{certificate.serial}/", language)

    assert status == 200
    assert verdict in top_of(page)
    assert "verdict--forged" in page
    # The bank's sentence is not put to a content its signature does not cover.
    assert 'data-testid="statement"' not in page


@pytest.mark.parametrize(
    ("language", "not_found"),
    [(ZH, "没有与该证书编号对应的证书"), (EN, "No certificate has this serial number.")],
)
def test_an_unknown_serial_is_not_found_and_not_kept_by_a_cache(world, client, language, not_found):
    status, page, response = read(client, "/verify/Xq_9-not-issued_abcdefgh/", language)

    assert status == 404
    assert not_found in page
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("language", "typed", "hint"),
    [
        (ZH, "70K2-M1Q-PD4R-8TZX-F4", "第 2 组（“M1Q”）少了一个字符"),
        (EN, "70K2-M1Q-PD4R-8TZX-F4", "Group 2 (“M1Q”) is one character short"),
        (ZH, "70k2 m19q pd4r 8tzxx f4", "第 4 组（“8tzxx”）多了一个字符"),
        (EN, "70k2 m19q pd4r 8tzxx f4", "Group 4 (“8tzxx”) has one character too many"),
        (ZH, "70K2-M19Q-PD4R-8TZX-FU", "最后一组（“FU”）的末位字符"),
        (EN, "70K2-M19Q-PD4R-8TZX-FU", "The last group (“FU”) ends in a character"),
        (ZH, "70K2-M18Q-PD4R-8TZX-F4", "校验字符无法指出是哪一组"),
        (EN, "70K2-M18Q-PD4R-8TZX-F4", "the check character cannot tell which group"),
        (ZH, "70K2M19QPD4R8TZXF", "少了一个字符：证书编号共 18 个字符"),
        (EN, "70K2M19QPD4R8TZXF", "One character is missing"),
    ],
)
def test_a_serial_with_a_typo_is_told_where_it_looks_wrong(client, language, typed, hint):
    # On the serial's page and from the form on the verification page alike.
    for url in (f"/verify/{typed.replace(' ', '%20')}/", f"/verify/?serial={typed}"):
        status, page, _ = read(client, url, language)
        assert status == 400, url
        assert hint in page, url
        assert 'data-testid="not-found"' not in page


@pytest.mark.parametrize(
    ("language", "typed", "contradiction"),
    [
        (ZH, "70K2-M18Q-PD4R-8TZX-F4", "缺少或多余"),
        (EN, "70K2-M18Q-PD4R-8TZX-F4", "missing or extra"),
        (ZH, "70K2-M19Q-PD4R-8TZX-FU", "缺少或多余"),
    ],
)
def test_a_typo_in_groups_of_the_right_length_does_not_speak_of_a_missing_character(
    client, language, typed, contradiction
):
    status, page, _ = read(client, f"/verify/?serial={typed}", language)

    assert status == 400
    assert 'data-testid="mistyped"' in page
    assert contradiction not in page


def test_the_check_symbol_cannot_say_where_a_changed_character_is():
    from transfers.certificates.serials import Typo, serial_typo

    assert serial_typo(FIXED) is None  # a right serial has no typo
    assert serial_typo(FIXED.replace("PD4R", "PD4B")) == Typo("changed")
    assert serial_typo(FIXED.replace("PD4R", "PD4")) == Typo("missing", 3, "PD4")
    assert serial_typo("nothing like a serial number") is None


@pytest.mark.parametrize(
    ("language", "before_checks", "before_pdf_signatures"),
    [
        (ZH, "此编号出具于证书编号带校验字符之前。", "出具于 PDF 签名启用之前"),
        (
            EN,
            "A serial number issued before serial numbers had a check character.",
            "Issued before PDFs were signed",
        ),
    ],
)
def test_a_certificate_issued_before_session_six_still_shows_genuine_and_current(
    world,
    django_capture_on_commit_callbacks,
    monkeypatch,
    client,
    language,
    before_checks,
    before_pdf_signatures,
):
    """An old-style serial, signed content without the PDF signature's mark, and a credential
    with the earlier eddsa-jcs-2022 proof and no status entry."""
    old_serial = secrets.token_urlsafe(18)
    monkeypatch.setattr(certificates, "serial_new", lambda: old_serial, raising=False)
    certificate = issue(world, django_capture_on_commit_callbacks, disclose=["name"])
    content = {k: v for k, v in (certificate.content or {}).items() if k != "pdf_signature"}
    signature, key_id = content_sign(content)
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"http://localhost/verify/{old_serial}/",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "http://localhost/", "name": "终身学习学分银行"},
        "credentialSubject": {"name": "李爱丽"},
    }
    credential["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "proofValue": "z" + base58btc_encode(bank_key().sign(canonical_bytes(credential))),
    }
    Certificate.objects.filter(pk=certificate.pk).update(
        content=content, signature=signature, key_id=key_id, vc_json=credential
    )

    status, page, _ = read(client, f"/verify/{old_serial}/", language)

    assert status == 200
    assert 'data-testid="genuine"' in page
    assert "verdict--current" in page
    assert "李爱丽" in top_of(page)
    technical = page.split('data-testid="technical"')[1]
    assert before_checks in technical
    assert before_pdf_signatures in technical
    assert "eddsa-jcs-2022" in technical
    assert "/credentials/status/" not in technical  # it has no status entry
    # One issued before credentials were kept at all shows too.
    Certificate.objects.filter(pk=certificate.pk).update(vc_json=None)
    status, page, _ = read(client, f"/verify/{old_serial}/", language)
    assert status == 200
    assert "verdict--current" in page


@pytest.mark.parametrize(
    ("language", "statement"),
    [
        (ZH, "共有经学分银行认定的学分 6.0 分、学习时长 120.0 学时。"),
        (EN, "李爱丽 held 6.0 credits and 120.0 learning hours accredited by the credit bank."),
    ],
)
def test_a_transcript_says_what_it_certifies_as_of_its_issue_day(
    world, django_capture_on_commit_callbacks, client, language, statement
):
    certificate = issue(
        world,
        django_capture_on_commit_callbacks,
        kind=Certificate.Kind.TRANSCRIPT,
        period_from=None,
        period_to=None,
        disclose=["name"],
    )

    status, page, _ = read(client, f"/verify/{certificate.serial}/", language)

    assert status == 200
    assert statement in top_of(page)
