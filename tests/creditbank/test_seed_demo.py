import datetime
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Centre, Institution, Role, User
from accreditation.services import recognition_agreement_for, trusted_bank_for_issuer
from transfers.certificates.linked_data import controller_document, issuer_did

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_creates_the_centres_and_one_user_per_role_and_prints_their_logins(rf):
    printed = seed()

    assert Centre.objects.filter(kind=Centre.Kind.MANAGEMENT).count() == 1
    assert Centre.objects.filter(kind=Centre.Kind.BRANCH).count() == 2
    # One person per role; a service account is not a person who signs in (an institution's
    # administrator makes one on the service accounts page).
    people = set(Role.values) - {Role.SERVICE_ACCOUNT}
    assert set(User.objects.values_list("role", flat=True)) == people
    for user in User.objects.all():
        assert user.username in printed
        request = rf.post("/login/")
        assert authenticate(request, username=user.username, password="CreditBank-Demo-2026")
    assert "CreditBank-Demo-2026" in printed


def test_demo_staff_can_give_their_second_factor_from_the_printed_key(client):
    printed = seed()
    code = StringIO()
    call_command("demo_totp_code", "reviewer.yuzhong", stdout=code)

    client.post("/login/", {"username": "reviewer.yuzhong", "password": "CreditBank-Demo-2026"})
    response = client.post("/mfa/verify/", {"code": code.getvalue().strip()}, follow=True)

    assert "authenticator key:" in printed
    assert response.redirect_chain[-1][0] == "/"
    assert "李明" in response.content.decode()


def test_it_can_run_twice_without_duplicating_anything():
    seed()
    counts = (User.objects.count(), Centre.objects.count(), Institution.objects.count())

    seed()

    assert (User.objects.count(), Centre.objects.count(), Institution.objects.count()) == counts


def test_it_refuses_to_seed_production_by_accident(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError):
        seed()
    assert not User.objects.exists()


def test_the_demo_trusts_a_bank_with_an_agreement_so_the_recognition_flow_can_be_tried():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # again: nothing new
    bank = trusted_bank_for_issuer(issuer=issuer_did())
    assert bank is not None
    assert bank.key_document == controller_document()
    agreement = recognition_agreement_for(
        bank=bank, entry_code="CQ-ZG-001", entry_version="1", on=datetime.date.today()
    )
    assert agreement is not None
    assert (agreement.version, agreement.entry.code) == (1, "CQ-ZG-001")
