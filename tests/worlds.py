"""The worlds of the suite, in one place: each fixture builds the rows a family of tests starts
from. Where two families start from different rows, they have differently named worlds (a test
module names the one it uses ``world`` with a one-line fixture). Made available to every test by
``tests/conftest.py``.

- ``transfer_world``: a learner with an accredited certificate and a programme it converts to.
- ``certificate_world``: 李爱丽 with one accreditation of 120 hours and 6 credits.
- ``closure_world``: 邵涛涛 registered online with a saved certificate, an accredited outcome and
  an issued hours certificate.
- ``open_work_world``: a learner with open work in every layer when asking to close the account
  (an application waiting for supplementary material, a transfer waiting for an institution,
  a correction request), each carrying a distinctive phrase and a phone number in its free
  text, and an identity number planted as data written before free text refused one.
- ``correction_world``: a learner with accredited, rejected and saved outcomes, and another
  learner with an accredited outcome of their own.
- ``statement_history``: two accreditations and one accepted transfer.
- ``collective`` and ``admin_client``: an institution's approved collective account, and an API
  client signed in as its administrator.
- ``security_world`` (and ``security_world_without_documents``): the ten principals of the
  authorization matrix and one of each kind of object the portal serves, owned by learner A (or
  by A's centre X, or by institution I), so that every route's URL can be filled with A's
  objects and every other principal's answer compared with A's own. Built once per test module
  (``security_world_kept``), each test's writes rolled back after it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import pytest
from django.conf import settings
from django.db import transaction
from django.test import TestCase, override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value
from rest_framework.test import APIClient

from accounts.collective.services import (
    collective_account_apply,
    collective_account_decide,
    collective_members_import,
)
from accounts.identity import crypto
from accounts.models import (
    BusinessTransaction,
    Centre,
    CollectiveMembership,
    Institution,
    LearningAccount,
    Notification,
    Role,
    User,
    WebhookDelivery,
    WebhookEventType,
)
from accounts.rights.services import correction_request, visit_book
from accounts.serviceaccounts.models import ACCESS_TOKEN_PREFIX, ServiceAccount
from accounts.serviceaccounts.models import Scope as ServiceScope
from accounts.serviceaccounts.services import service_account_create
from accounts.services import api_token_create
from accounts.webhooks.services import webhook_subscription_create
from accreditation.calendar import calendar_load
from accreditation.models import Application, CalendarYear, TrustedBank
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
from tests.people import RESIDENT, learner_register, with_check, with_totp
from tests.transfers.factories import programme_with_courses, rule
from transfers.certificates.issuing import certificate_request
from transfers.models import Certificate, TransferApplication, TransferItem
from transfers.preassessments import preassessment_ask
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


LI_AILI_ID_NUMBER = "50010319900101123X"


@pytest.fixture
def certificate_world(learner):
    """李爱丽 with one accreditation of 120 hours and 6 credits, learned on 2024-06-01."""
    account = PersonalAccountFactory(
        holder=learner,
        id_type="resident_id",
        # Her full number, kept as registration keeps it: a transfer record is bound to it.
        id_number_encrypted=crypto.encrypt(LI_AILI_ID_NUMBER),
        id_number_masked="5001**********123X",
    )
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


# What the open work's free text carries, for the scans after closure to look for.
OPEN_WORK_PHRASE = "蓝鲸七号学习札记"
OPEN_WORK_PHONE = "13655557777"
OPEN_WORK_ID = with_check("11010519491231002")


@pytest.fixture
def open_work_world(transfer_world, learner, centre, reviewer, centre_admin, institution_officer):
    """``transfer_world``'s learner, through the API: a saved certificate applied for at
    ``centre`` with a statement, assigned to ``reviewer``, who asks for more material; a
    transfer of the accredited outcome, on which the officer asks for information and the
    learner answers; a correction request. Every text holds ``OPEN_WORK_PHRASE`` and
    ``OPEN_WORK_PHONE``; the statement, the outcome's title and one business transaction also
    hold ``OPEN_WORK_ID``, written with the ORM as data stored before the portal refused it."""
    account = transfer_world["account"]
    said = f"{OPEN_WORK_PHRASE}，电话 {OPEN_WORK_PHONE}"
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    outcome = certificate_save(account, title=f"{OPEN_WORK_PHRASE} 园长证书")

    def post(user: User, url: str, data: dict[str, Any]) -> dict[str, Any]:
        api.force_authenticate(user)
        response = api.post(url, data, format="json")
        assert response.status_code in (200, 201), response.content
        return cast(dict[str, Any], response.json())

    application = post(
        learner,
        "/api/v1/applications/",
        {"outcome": outcome.pk, "centre": centre.code, "statement": f"我的说明：{said}"},
    )["id"]
    post(centre_admin, f"/api/v1/applications/{application}/assign/", {"reviewer": reviewer.pk})
    post(reviewer, f"/api/v1/applications/{application}/start-review/", {})
    post(
        reviewer,
        f"/api/v1/applications/{application}/request-supplement/",
        {"reason": f"学员写道“{said}”，请补充"},
    )
    transfer = post(
        learner,
        "/api/v1/transfers/",
        {
            "programme": transfer_world["programme"].pk,
            "items": [
                {"course": transfer_world["courses"][0].pk, "outcome": transfer_world["outcome"].pk}
            ],
        },
    )
    item = transfer["items"][0]["id"]
    post(
        institution_officer,
        f"/api/v1/transfers/items/{item}/decide/",
        {"decision": "request_information", "reason": f"您提到“{said}”，请说明"},
    )
    post(learner, f"/api/v1/transfers/items/{item}/respond/", {"response": f"补充：{said}"})
    post(
        learner,
        "/api/v1/accounts/me/corrections/",
        {"field": "name", "new_value": "李爱莉", "reason": f"户口本上是这样：{said}"},
    )
    # Written before free text refused an identity number: the closure must remove it too.
    Application.objects.filter(pk=application).update(
        statement=f"我的说明：{said}，身份证 {OPEN_WORK_ID}"
    )
    LearningOutcome.objects.filter(pk=outcome.pk).update(title=f"{OPEN_WORK_PHRASE} {OPEN_WORK_ID}")
    BusinessTransaction.objects.filter(pk=account.transactions.latest("pk").pk).update(
        details={"title": f"{OPEN_WORK_PHRASE} {OPEN_WORK_ID}", "note": said}
    )
    return {
        **transfer_world,
        "saved": outcome,
        "application": Application.objects.get(pk=application),
        "transfer": TransferApplication.objects.get(pk=transfer["id"]),
        "item": TransferItem.objects.get(pk=item),
    }


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
    # Institution I's system: a service account with every scope, calling with its OAuth token.
    "system_i",
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
    # A's questions to the university about its second course (ADR 0028): two, so that the
    # page and the API each have one to withdraw.
    other_version = catalogue_version(code="CQ-MT-001", name="蒙台梭利教师资格证书")
    preassessments = [
        preassessment_ask(account=account_a, course=courses[1], actor=learner_a, entry_version=v)
        for v in (version, other_version)
    ]
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
    assert institution_admin_i.institution is not None
    subscription, _secret = webhook_subscription_create(
        institution=institution_admin_i.institution,
        actor=institution_admin_i,
        url="https://93.184.215.14/creditbank",  # a public address: no DNS in tests
        event_types=[WebhookEventType.TRANSFER_APPLIED],
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        message_id="msg_world",
        event_type=WebhookEventType.TRANSFER_APPLIED,
        body="{}",
        status=WebhookDelivery.Status.FAILED,
    )
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
        "course2": courses[1].pk,
        "preassessment": preassessments[0].pk,
        "preassessment2": preassessments[1].pk,
        "transfer": transfer.pk,
        "transfer_item": TransferItem.objects.get(application=transfer).pk,
        **made,
        "notification": notification.pk,
        "correction": correction.pk,
        "visit": visit.pk,
        "institution": institution_admin_i.institution_id,
        "collective": collective_i.number,
        "invitation": invitation.pk,
        "webhook": subscription.pk,
        "webhook_delivery": delivery.pk,
        "catalogue_code": version.entry.code,
        "trusted_bank": TrustedBank.objects.create(
            name="上海终身教育学分银行", issuer="did:web:shcb.example.cn", key_document={}
        ).pk,
    }
    tokens = {name: api_token_create(user=user)[0] for name, user in users.items() if user}
    system_i, system_token = _service_account(institution_admin_i)
    users["system_i"] = system_i.principal
    tokens["system_i"] = system_token
    objects["service_account"] = system_i.pk
    return World(users=users, objects=objects, tokens=tokens)


def _service_account(admin: User) -> tuple[ServiceAccount, str]:
    """A service account of ``admin``'s institution with every scope, and an access token."""
    assert admin.institution is not None
    account, _secret = service_account_create(
        institution=admin.institution, actor=admin, name="人事系统", scopes=ServiceScope.values
    )
    raw = ACCESS_TOKEN_PREFIX + "matrix-world-token"
    token = AccessToken(
        application_id=account.application_id,
        expires=timezone.now() + datetime.timedelta(hours=1),
        scope=" ".join(ServiceScope.values),
    )
    set_token_value(token, raw)
    token.save()
    return account, raw


# --- Worlds built once for a test module ---------------------------------------------------------

T = TypeVar("T")


@dataclass
class Kept(Generic[T]):
    value: T
    media: Path  # where its files are (evidence, certificates, exports)


def module_kept(
    django_db_blocker: Any, tmp_path_factory: Any, build: Callable[[], T]
) -> Iterator[Kept[T]]:
    """What ``build`` makes, made once for a test module (it takes seconds), in a transaction
    rolled back after the module's last test; each test runs in a savepoint of its own inside
    it, so what one test writes the next never sees. Settings as each test's own
    (tests/conftest.py): fast password hashing, a cache and file storage of the module's own.
    For a module-scoped fixture (``django_db_setup``, ``django_db_blocker`` and
    ``tmp_path_factory`` given); each test takes it with :func:`module_given`. Once made, it is
    there for every later test of the module, asked for or not: only for modules whose tests
    all ask for it (or use no database)."""
    media = tmp_path_factory.mktemp("module-media")
    with django_db_blocker.unblock(), module_settings(media), transaction.atomic():
        if not CalendarYear.objects.exists():
            calendar_load()
        yield Kept(build(), media)
        transaction.set_rollback(True)


def module_settings(media: Any) -> override_settings:
    """A module's own settings, as each test's (tests/conftest.py): fast password hashing, and a
    cache (its throttle counters start from nothing) and file storage of its own under
    ``media``."""
    return override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": str(media),
            }
        },
        STORAGES={
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": media},
            },
        },
    )


def module_given(kept: Kept[T], test_settings: Any) -> T:
    """The module's kept value for one test, whose file storage is the module's (the test's
    cache stays its own: empty)."""
    test_settings.STORAGES = {
        **test_settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": kept.media},
        },
    }
    return kept.value


@pytest.fixture(scope="module")
def security_world_kept(
    django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[Kept[World]]:
    yield from module_kept(
        django_db_blocker,
        tmp_path_factory,
        lambda: world_build(TestCase.captureOnCommitCallbacks),
    )


@pytest.fixture(scope="module")
def security_world_without_documents_kept(
    django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[Kept[World]]:
    yield from module_kept(
        django_db_blocker,
        tmp_path_factory,
        lambda: world_build(TestCase.captureOnCommitCallbacks, documents=False),
    )


@pytest.fixture
def security_world(security_world_kept, settings) -> World:
    return module_given(security_world_kept, settings)


@pytest.fixture
def security_world_without_documents(security_world_without_documents_kept, settings) -> World:
    return module_given(security_world_without_documents_kept, settings)
