"""The worlds of the suite, in one place: each fixture builds the rows a family of tests starts
from. Where two families start from different rows, they have differently named worlds (a test
module names the one it uses ``world`` with a one-line fixture). Made available to every test by
``tests/conftest.py``.

- ``transfer_world``: a learner with an accredited certificate and a programme it converts to.
- ``certificate_world``: 李爱丽 with one accreditation of 120 hours and 6 credits.
- ``closure_world``: 邵涛涛 registered online with a saved certificate, an accredited outcome and
  an issued hours certificate.
- ``correction_world``: a learner with accredited, rejected and saved outcomes, and another
  learner with an accredited outcome of their own.
- ``statement_history``: two accreditations and one accepted transfer.
- ``collective`` and ``admin_client``: an institution's approved collective account, and an API
  client signed in as its administrator.
- ``security_world`` (and ``security_world_without_documents``): the ten principals of the
  authorization matrix and one of each kind of object the portal serves, owned by learner A (or
  by A's centre X, or by institution I), so that every route's URL can be filled with A's
  objects and every other principal's answer compared with A's own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from django.utils import timezone

from accounts.collective.services import (
    collective_account_apply,
    collective_account_decide,
    collective_members_import,
)
from accounts.models import (
    Centre,
    CollectiveMembership,
    Institution,
    LearningAccount,
    Notification,
    Role,
    User,
)
from accounts.rights.services import correction_request, visit_book
from accounts.services import api_token_create
from accreditation.services import application_submit
from creditbank.export import data_export_request
from outcomes.models import EvidenceFile, LearningOutcome
from tests.accounts.factories import (
    CentreFactory,
    CollectiveAccountFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
    credit_code,
)
from tests.accounts.helpers import csv_file, member, resident_id
from tests.accreditation.factories import accredited_outcome, catalogue_version
from tests.outcomes.factories import LearningOutcomeFactory, certificate_save
from tests.people import RESIDENT, learner_register, with_totp
from tests.transfers.factories import programme_with_courses, rule
from transfers.certificates.issuing import certificate_request
from transfers.models import Certificate, TransferItem
from transfers.services import learning_goal_set, transfer_apply, transfer_item_decide

# --- Learners with accredited outcomes -----------------------------------------------------------


@pytest.fixture
def transfer_world(learner, institution_officer):
    """A learner with an accredited principal certificate, a programme of the officer's
    institution whose first course the certificate converts to."""
    account = PersonalAccountFactory(holder=learner)
    version = catalogue_version()
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(version, courses[0])
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    outcome = accredited_outcome(account, version, decider)
    return {
        "account": account,
        "version": version,
        "programme": programme,
        "courses": courses,
        "outcome": outcome,
        "decider": decider,
    }


@pytest.fixture
def certificate_world(learner):
    """李爱丽 with one accreditation of 120 hours and 6 credits, learned on 2024-06-01."""
    account = PersonalAccountFactory(holder=learner, id_number_masked="5001**********123X")
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    outcome = accredited_outcome(account, catalogue_version(), decider)
    return {"account": account, "outcome": outcome, "decision": outcome.applications.get().decision}


@pytest.fixture
def closure_world(django_capture_on_commit_callbacks, centre) -> dict[str, Any]:
    """邵涛涛, registered online, with a saved certificate (a PDF in storage), an accredited
    outcome and an issued hours certificate that shows name, identity and account number."""
    account = learner_register("邵涛涛", RESIDENT, "13912345678")
    with django_capture_on_commit_callbacks(execute=True):
        saved = certificate_save(account)
    decider = UserFactory(role="centre_reviewer", centre=centre)
    accredited_outcome(account, catalogue_version(), decider)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_request(
            account=account,
            actor=account.holder,
            kind=Certificate.Kind.HOURS_CERTIFICATE,
            period_from=datetime.date(2000, 1, 1),
            period_to=timezone.localdate(),
            disclose=["name", "id_number", "account_number", "items"],
        )
    certificate.refresh_from_db()
    return {"account": account, "saved": saved, "certificate": certificate}


@pytest.fixture
def correction_world(centre) -> dict[str, Any]:
    """A learner with an accredited outcome (its ledger entry booked), a rejected one and a
    saved one; and another learner with an accredited outcome of their own."""
    account = learner_register("邵涛涛", RESIDENT, "13912345679")
    decider = UserFactory(role="centre_reviewer", centre=centre)
    accredited = accredited_outcome(account, catalogue_version(), decider)
    rejected = LearningOutcomeFactory(
        account=account,
        title="育婴员证书",
        status=LearningOutcome.Status.NOT_ACCREDITED,
        certificate_number="YY-2024-001",
    )
    saved = LearningOutcomeFactory(account=account, status=LearningOutcome.Status.SAVED)
    other = PersonalAccountFactory(number="GR9999999991")
    theirs = accredited_outcome(other, catalogue_version("CQ-ZG-002", "茶艺师证书"), decider)
    return {
        "account": account,
        "learner": account.holder,
        "accredited": accredited,
        "rejected": rejected,
        "saved": saved,
        "theirs": theirs,
    }


@pytest.fixture
def statement_history(learner, institution_officer):
    """Two accreditations (120 h / 6 cr each) and one accepted transfer (3 cr)."""
    account = PersonalAccountFactory(holder=learner)
    decider = UserFactory(role=Role.CENTRE_REVIEWER, centre=CentreFactory())
    first = catalogue_version()
    second = catalogue_version(code="CQ-ZG-002", name="幼儿园教师资格证书")
    programme, courses = programme_with_courses(institution_officer.institution)
    rule(first, courses[0])
    outcome = accredited_outcome(account, first, decider)
    accredited_outcome(account, second, decider)
    application = transfer_apply(
        account=account, programme=programme, items=[(courses[0], outcome)], actor=learner
    )
    transfer_item_decide(item=application.items.get(), actor=institution_officer, decision="accept")
    return {"account": account, "transfer": application, "outcome": outcome}


# --- Collective accounts -------------------------------------------------------------------------


@pytest.fixture
def collective(institution_admin, centre):
    """An approved collective account of the administrator's institution, at ``centre``."""
    institution = institution_admin.institution
    institution.centre = centre
    institution.save()
    return CollectiveAccountFactory.create(institution=institution, opened_by=institution_admin)


@pytest.fixture
def admin_client(api_client, institution_admin, collective):
    """The API client signed in as the institution's administrator. (It takes the place of
    pytest-django's fixture of the same name, which no test here uses.)"""
    api_client.force_authenticate(institution_admin)
    return api_client


# --- The authorization matrix's world ------------------------------------------------------------

# The principals, in the order of the table's columns.
PRINCIPALS = (
    "anonymous",
    "learner_a",
    "learner_b",
    "reviewer_x",
    "reviewer_y",
    "centre_admin_x",
    "institution_admin_i",
    "institution_admin_j",
    "officer",
    "management",
)


@dataclass
class World:
    users: dict[str, User | None]
    # URL keyword values by what they name ("outcome", "application", ...).
    objects: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)


def _collective(name: str, code_n: int, centre: Any, decider: User, admin_phone: str) -> User:
    """An institution with an approved collective account; gives its administrator."""

    account = collective_account_apply(
        name=name,
        kind=Institution.Kind.ENTERPRISE,
        credit_code=credit_code(90_000 + code_n),
        centre=centre,
        admin_name=f"{name}管理员",
        admin_email=f"admin{code_n}@example.cn",
        admin_phone=admin_phone,
        admin_password="correct-horse-battery",
    )
    institution = account.institution
    assert institution is not None
    collective_account_decide(institution=institution, decided_by=decider, approve=True)
    admin = User.objects.get(institution=institution, role=Role.INSTITUTION_ADMIN)
    return with_totp(admin)


def world_build(capture_on_commit: Any, *, documents: bool = True) -> World:
    """Builds the world; ``capture_on_commit`` is pytest-django's
    ``django_capture_on_commit_callbacks``, so that the certificate and the export are made
    (unless ``documents`` is false: they take the longest and not every test needs them)."""
    centre_x = cast(Centre, CentreFactory(name="渝中区学习成果认证分中心"))
    centre_y = cast(Centre, CentreFactory(name="沙坪坝区学习成果认证分中心"))
    reviewer_x = with_totp(
        UserFactory(username="rev.x", role=Role.CENTRE_REVIEWER, centre=centre_x)
    )
    reviewer_y = with_totp(
        UserFactory(username="rev.y", role=Role.CENTRE_REVIEWER, centre=centre_y)
    )
    centre_admin_x = with_totp(
        UserFactory(username="cadm.x", role=Role.CENTRE_ADMIN, centre=centre_x)
    )
    centre_admin_y = with_totp(
        UserFactory(username="cadm.y", role=Role.CENTRE_ADMIN, centre=centre_y)
    )
    management = with_totp(UserFactory(username="mgmt", role=Role.MANAGEMENT_ADMIN, is_staff=True))
    university = cast(
        Institution,
        InstitutionFactory(name="开放大学", kind=Institution.Kind.DEGREE_INSTITUTION),
    )
    officer = with_totp(
        UserFactory(username="officer", role=Role.INSTITUTION_OFFICER, institution=university)
    )
    institution_admin_i = _collective("阳光幼教集团", 1, centre_x, centre_admin_x, "13900000091")
    institution_admin_j = _collective("星星培训学校", 2, centre_y, centre_admin_y, "13900000092")

    account_a = learner_register("李爱丽", resident_id(1), "13800000001")
    account_b = learner_register("王必成", resident_id(2), "13800000002")
    learner_a, learner_b = account_a.holder, account_b.holder
    assert learner_a is not None
    assert learner_b is not None

    # A's outcomes: one only saved, one in an application at centre X, one accredited.
    saved = certificate_save(account_a, "保育员职业资格证书")
    submitted = certificate_save(account_a, "幼儿园园长任职资格证书")
    application = application_submit(outcome=submitted, centre=centre_x, actor=learner_a)
    version = catalogue_version()
    programme, courses = programme_with_courses(university)
    rule(version, courses[0])
    accredited = accredited_outcome(account_a, version, reviewer_x)
    transfer = transfer_apply(
        account=account_a, programme=programme, items=[(courses[0], accredited)], actor=learner_a
    )
    goal = learning_goal_set(account=account_a, programme=programme, actor=learner_a)
    made: dict[str, Any] = {}
    if documents:
        with capture_on_commit(execute=True):
            certificate = certificate_request(account=account_a, actor=learner_a, kind="transcript")
        with capture_on_commit(execute=True):
            export, _created = data_export_request(account=account_a)
        made = {"certificate": certificate.serial, "export": export.token}
    notification = Notification.objects.create(
        recipient=learner_a,
        kind=Notification.Kind.APPLICATION_SUBMITTED,
        params={"title": submitted.title},
        link=f"/applications/{application.pk}/",
        key=f"matrix-{application.pk}",
    )
    correction = correction_request(
        user=learner_a, field="name", new_value="李爱莉", reason="户籍登记更正"
    )
    visit = visit_book(
        user=learner_a,
        centre_id=centre_x.pk,
        visit_on=timezone.localdate() + datetime.timedelta(days=7),
        purpose="copy",
    )
    collective_i = LearningAccount.objects.get(institution=institution_admin_i.institution)
    # Institution I has invited A to its member list (A has not answered).
    collective_members_import(
        collective=collective_i,
        uploaded_by=institution_admin_i,
        filename="members.csv",
        data=csv_file([member(1, name=learner_a.name)]),
    )
    invitation = CollectiveMembership.objects.get(collective=collective_i, member=account_a)

    users: dict[str, User | None] = {
        "anonymous": None,
        "learner_a": learner_a,
        "learner_b": learner_b,
        "reviewer_x": reviewer_x,
        "reviewer_y": reviewer_y,
        "centre_admin_x": centre_admin_x,
        "institution_admin_i": institution_admin_i,
        "institution_admin_j": institution_admin_j,
        "officer": officer,
        "management": management,
    }
    objects: dict[str, Any] = {
        "account_number": account_a.number,
        "outcome": saved.pk,
        "submitted_outcome": submitted.pk,
        "evidence": EvidenceFile.objects.filter(outcome=saved).values_list("pk", flat=True)[0],
        "application": application.pk,
        "programme": programme.pk,
        "course": courses[0].pk,
        "accredited_outcome": accredited.pk,
        "centre_x": centre_x.code,
        "goal": goal.pk,
        "transfer": transfer.pk,
        "transfer_item": TransferItem.objects.get(application=transfer).pk,
        **made,
        "notification": notification.pk,
        "correction": correction.pk,
        "visit": visit.pk,
        "institution": institution_admin_i.institution_id,
        "collective": collective_i.number,
        "invitation": invitation.pk,
        "catalogue_code": version.entry.code,
    }
    tokens = {name: api_token_create(user=user)[0] for name, user in users.items() if user}
    return World(users=users, objects=objects, tokens=tokens)


@pytest.fixture
def security_world(django_capture_on_commit_callbacks) -> World:
    return world_build(django_capture_on_commit_callbacks)


@pytest.fixture
def security_world_without_documents(django_capture_on_commit_callbacks) -> World:
    return world_build(django_capture_on_commit_callbacks, documents=False)
