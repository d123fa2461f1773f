"""Query counts: every page and list endpoint reads the same number of SQL queries whether the
data behind it holds one item or two hundred (no query per row, issue 8).

One world is seeded through the services (a learner with a saved outcome, one waiting at the
centre, one accredited, one offered for a credit transfer; a certificate, a goal, a correction
request, a visit; a collective account with a member and a batch; the catalogue and a
conversion rule). ``grow`` then copies each kind of row with ``bulk_create`` until there are
``n`` of it, so that the same request can be counted at 1 and at 200. Each endpoint is counted
after one warm-up request at each size (the session settles on the first, and caches keyed by
what they depend on, such as a learner's catalogue matches, fill), and its answer at 200 must show
more than its answer at 1, so that the count is taken over rows that are really read.

The counts are printed (``pytest -s``); ``bench/query_counts.md`` records them.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar, cast

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import (
    BusinessTransaction,
    Centre,
    CentreVisit,
    CollectiveMembership,
    CorrectionRequest,
    Institution,
    LearningAccount,
    LedgerEntry,
    Notification,
    Role,
    StaffAccess,
    User,
)
from accounts.rights.services import correction_request, visit_book
from accounts.services import staff_file_view_record
from accreditation import services as accreditation
from accreditation.calendar import calendar_load
from accreditation.catalogue import catalogue_revision_bump
from accreditation.models import (
    Application,
    ApplicationEvent,
    CalendarYear,
    CatalogueEntry,
    CatalogueEntryVersion,
    Decision,
)
from outcomes.models import EvidenceFile, InstitutionBatch, LearningOutcome
from outcomes.services import outcome_save
from outcomes.storage import Upload
from tests.accounts.factories import (
    CentreFactory,
    CollectiveAccountFactory,
    InstitutionFactory,
    UserFactory,
)
from tests.accreditation.factories import principal_entry_publish
from tests.outcomes.samples import png_bytes
from tests.people import learner_register, login_verified, with_totp
from tests.worlds import module_settings
from transfers.certificates.issuing import certificate_request
from transfers.models import (
    Certificate,
    ConversionRule,
    Course,
    LearningGoal,
    Programme,
    TransferApplication,
    TransferEvent,
    TransferItem,
)
from transfers.services import learning_goal_set, transfer_apply

# The module's tests only read the counts; the mark makes pytest-django set up the test database
# the module fixture builds its world in.
pytestmark = pytest.mark.django_db

SINCE = datetime.date(2020, 1, 1)
M = TypeVar("M", bound=Model)


# --- The world ----------------------------------------------------------------------------------


@dataclass
class World:
    learner: User
    account: LearningAccount
    reviewer: User
    centre_admin: User
    manager: User
    institution_admin: User
    officer: User
    collective: LearningAccount
    entry: CatalogueEntry
    programme: Programme
    course: Course
    saved: LearningOutcome
    pending: LearningOutcome
    accredited: LearningOutcome
    offered: LearningOutcome
    transfer: TransferApplication
    big_transfer: TransferApplication  # one application, for as many courses as items
    certificate: Certificate
    # Certificates for /verify/: the first, and one issued after growing that relies on every
    # accreditation.
    serials: dict[int, str] = field(default_factory=dict)


def accredit(reviewer: User, centre: Centre, outcome: LearningOutcome, entry: Any) -> None:
    application = accreditation.application_submit(
        outcome=outcome, centre=centre, actor=cast(User, outcome.account.holder)
    )
    accreditation.review_start(application=application, actor=reviewer)
    accreditation.accredit_against_catalogue(application=application, actor=reviewer, entry=entry)


def certificate_save(account: LearningAccount, title: str) -> LearningOutcome:
    """A saved vocational qualification certificate with a scan of its own (a small PNG: a PDF
    with the Chinese font embedded costs seconds to make)."""
    colour = (LearningOutcome.objects.filter(account=account).count() * 40, 30, 30)
    return outcome_save(
        account=account,
        actor=cast(User, account.holder),
        data={
            "kind": "vocational_qualification",
            "title": title,
            "issuing_body": "重庆市教育委员会",
            "certificate_number": "YZ-2018-0042",
            "achieved_on": datetime.date(2018, 6, 30),
            "result": "合格",
        },
        uploads=[Upload(name="证书.png", data=png_bytes(colour))],
    )


def issue(account: LearningAccount) -> Certificate:
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate = certificate_request(
            account=account,
            actor=account.holder,  # type: ignore[arg-type]
            kind=Certificate.Kind.TRANSCRIPT,
            disclose=["name", "items"],
        )
    certificate.refresh_from_db()
    assert certificate.state == Certificate.State.ISSUED
    return certificate


def world_build() -> World:
    centre = cast(Centre, CentreFactory(name="渝中区学习成果认证分中心"))
    reviewer = with_totp(
        UserFactory(username="rita", role=Role.CENTRE_REVIEWER, centre=centre, name="王审核")
    )
    centre_admin = with_totp(
        UserFactory(username="carl", role=Role.CENTRE_ADMIN, centre=centre, name="陈主任")
    )
    manager = with_totp(
        UserFactory(
            username="mona",
            role=Role.MANAGEMENT_ADMIN,
            is_staff=True,
            is_superuser=True,  # every admin list, whatever the group's permissions
            name="孟管理",
        )
    )
    entry = principal_entry_publish(manager)

    account = learner_register("邵涛涛", "11010519491231002X", "13912345678")
    learner = account.holder
    saved = certificate_save(account, "幼儿园园长任职资格证书 保存")
    pending = certificate_save(account, "幼儿园园长任职资格证书 待审")
    waiting = accreditation.application_submit(outcome=pending, centre=centre, actor=learner)
    accreditation.application_assign(application=waiting, reviewer=reviewer, actor=centre_admin)
    accredited = certificate_save(account, "幼儿园园长任职资格证书")
    accredit(reviewer, centre, accredited, entry)
    offered = certificate_save(account, "幼儿园园长任职资格证书 转换")
    accredit(reviewer, centre, offered, entry)
    offered_too = certificate_save(account, "幼儿园园长任职资格证书 专升本")
    accredit(reviewer, centre, offered_too, entry)

    university = cast(
        Institution,
        InstitutionFactory(name="重庆开放大学", kind="degree_institution", centre=centre),
    )
    officer = with_totp(
        UserFactory(
            username="olga", role=Role.INSTITUTION_OFFICER, institution=university, name="刘老师"
        )
    )
    programme = Programme.objects.create(
        institution=university,
        code="PRE-ZK",
        name="学前教育（专科）",
        name_en="Preschool Education",
        kind=Programme.Kind.DEGREE,
        credits_required=Decimal("60"),
    )
    course = Course.objects.create(
        programme=programme, code="PRE-001", name="教研管理", name_en="Teaching", credits=3
    )
    bachelor = Programme.objects.create(
        institution=university,
        code="PRE-BK",
        name="学前教育（专升本）",
        name_en="Preschool Education (top-up)",
        kind=Programme.Kind.DEGREE,
        credits_required=Decimal("80"),
    )
    bachelor_course = Course.objects.create(
        programme=bachelor, code="BK-001", name="园所管理", name_en="Management", credits=3
    )
    for converted in (course, bachelor_course):
        ConversionRule.objects.create(
            entry=entry,
            course=converted,
            version=1,
            credits=Decimal("3"),
            effective_from=SINCE,
            approving_body="重庆开放大学",
            rationale="覆盖课程目标",
        )
    learning_goal_set(account=account, programme=programme, actor=learner)
    transfer = transfer_apply(
        account=account, programme=programme, items=[(course, offered)], actor=learner
    )
    big_transfer = transfer_apply(
        account=account, programme=bachelor, items=[(bachelor_course, offered_too)], actor=learner
    )
    certificate = issue(account)

    correction_request(user=learner, field="name", new_value="邵涛", reason="户籍更名")
    visit_book(
        user=learner,
        centre_id=centre.pk,
        visit_on=timezone.localdate() + datetime.timedelta(days=7),
        purpose="review",
    )
    staff_file_view_record(staff=reviewer, account=account, reason="核对证书")

    institution = cast(Institution, InstitutionFactory(name="阳光幼教集团", centre=centre))
    institution_admin = with_totp(
        UserFactory(
            username="ivan", role=Role.INSTITUTION_ADMIN, institution=institution, name="赵机构"
        )
    )
    collective = cast(
        LearningAccount,
        CollectiveAccountFactory(
            institution=institution, opened_by=institution_admin, opened_at_centre=centre
        ),
    )
    CollectiveMembership.objects.create(
        collective=collective, member=account, added_by=institution_admin
    )
    InstitutionBatch.objects.create(
        collective=collective,
        uploaded_by=institution_admin,
        title="保育员岗位培训",
        filename="名单.csv",
        rows=1,
        evidence_files=1,
    )
    return World(
        learner=learner,
        account=account,
        reviewer=reviewer,
        centre_admin=centre_admin,
        manager=manager,
        institution_admin=institution_admin,
        officer=officer,
        collective=collective,
        entry=entry,
        programme=programme,
        course=course,
        saved=saved,
        pending=pending,
        accredited=accredited,
        offered=offered,
        transfer=transfer,
        big_transfer=big_transfer,
        certificate=certificate,
    )


# --- Growing it ---------------------------------------------------------------------------------


def copies(template: M, n: int, **overrides: Any) -> list[M]:
    """``n`` new rows like ``template``, written in one statement; an override is a value or a
    function of the copy's index."""
    rows = [
        copy_of(template, **{k: v(i) if callable(v) else v for k, v in overrides.items()})
        for i in range(n)
    ]
    return type(template)._default_manager.bulk_create(rows) if rows else []


def grow_outcome(template: LearningOutcome, n: int) -> list[LearningOutcome]:
    """Copies of an outcome with its evidence, application, events, decision and ledger entry."""
    tag = uuid.uuid4().hex[:6]
    outcomes = copies(template, n, title=lambda i: f"{template.title} {tag}-{i}")
    evidence = template.evidence.first()
    assert evidence is not None
    EvidenceFile.objects.bulk_create([copy_of(evidence, outcome_id=o.pk) for o in outcomes])
    application = template.applications.first()
    if application is None:
        return outcomes
    applications = Application.objects.bulk_create(
        [copy_of(application, outcome_id=o.pk) for o in outcomes]
    )
    events = list(application.events.all())
    ApplicationEvent.objects.bulk_create(
        [copy_of(e, application_id=a.pk) for a in applications for e in events]
    )
    decision = Decision.objects.filter(application=application).first()
    if decision is None:
        return outcomes
    decisions = Decision.objects.bulk_create(
        [copy_of(decision, application_id=a.pk) for a in applications]
    )
    entry = LedgerEntry.objects.get(cause_type="accreditation_decision", cause_id=str(decision.pk))
    LedgerEntry.objects.bulk_create([copy_of(entry, cause_id=str(d.pk)) for d in decisions])
    return outcomes


def copy_of(template: M, **values: Any) -> M:
    """One unsaved row like ``template`` with ``values`` changed."""
    fields = [f for f in template._meta.concrete_fields if not f.primary_key]
    data = {f.attname: getattr(template, f.attname) for f in fields}
    data.update(values)
    return type(template)(**data)


def grow(world: World, n: int) -> None:
    """Make every kind of row in the world number ``n`` (from the 1 the seed made)."""
    more = n - 1
    if more <= 0:
        return
    account = world.account
    grow_outcome(world.saved, more)
    grow_outcome(world.pending, more)
    accredited = grow_outcome(world.accredited, more)

    # The waiting application: a long timeline, many evidence files.
    waiting = Application.objects.get(outcome=world.pending)
    copies(waiting.events.latest("occurred_at", "id"), more)
    copies(world.pending.evidence.get(), more, original_name=lambda i: f"证书{i}.png")

    # Transfers: each copy offers its own accredited outcome for its own course.
    courses = copies(world.course, more, code=lambda i: f"PRE-{i + 100:03d}")
    rule = ConversionRule.objects.get(course=world.course)
    copies(rule, more, course_id=lambda i: courses[i].pk)
    item = world.transfer.items.get()
    transfers = copies(world.transfer, more)
    items = TransferItem.objects.bulk_create(
        [
            copy_of(item, application_id=t.pk, course_id=c.pk, outcome_id=o.pk)
            for t, c, o in zip(transfers, courses, accredited, strict=True)
        ]
    )
    item_events = list(item.events.all())
    TransferEvent.objects.bulk_create(
        [copy_of(e, item_id=i.pk) for i in items for e in item_events]
    )

    # One transfer application for many courses, each with an outcome of its own.
    big_item = world.big_transfer.items.get()
    outcomes = grow_outcome(LearningOutcome.objects.get(pk=big_item.outcome_id), more)
    big_courses = copies(
        Course.objects.get(pk=big_item.course_id), more, code=lambda i: f"BK-{i + 100:03d}"
    )
    copies(
        ConversionRule.objects.get(course_id=big_item.course_id),
        more,
        course_id=lambda i: big_courses[i].pk,
    )
    big_items = TransferItem.objects.bulk_create(
        [
            copy_of(big_item, course_id=c.pk, outcome_id=o.pk)
            for c, o in zip(big_courses, outcomes, strict=True)
        ]
    )
    big_events = list(big_item.events.all())
    TransferEvent.objects.bulk_create(
        [copy_of(e, item_id=i.pk) for i in big_items for e in big_events]
    )

    # Goals, each at a programme of its own with a course.
    programmes = copies(world.programme, more, code=lambda i: f"PRG-{i:03d}")
    copies(world.course, more, programme_id=lambda i: programmes[i].pk, code=lambda i: f"C-{i:03d}")
    goal = LearningGoal.objects.get(account=account)
    copies(goal, more, programme_id=lambda i: programmes[i].pk)

    # Certificates, each relying on the same accreditations as the first.
    certificates = copies(
        world.certificate,
        more,
        serial=lambda i: f"{world.certificate.serial}{i:04d}",
        file_token=lambda i: uuid.uuid4(),
    )
    decisions = list(world.certificate.decisions.all())
    through = Certificate.decisions.through
    through.objects.bulk_create(
        [through(certificate_id=c.pk, decision_id=d.pk) for c in certificates for d in decisions]
    )

    # The learner's and the reviewer's notices, account history, staff looks, rights requests.
    for notice in Notification.objects.filter(recipient__in=[world.learner, world.reviewer]):
        copies(notice, more, key=lambda i, key=notice.key: f"{key}:{i}")
    for txn in BusinessTransaction.objects.filter(account=account):
        copies(txn, more)
    copies(StaffAccess.objects.filter(account=account).earliest("occurred_at"), more)
    copies(CorrectionRequest.objects.get(account=account), more)
    copies(CentreVisit.objects.get(account=account), more)

    # The collective account's members (each a learner of their own) and batches.
    users = copies(
        world.learner,
        more,
        username=lambda i: f"member{i}",
        email=lambda i: f"member{i}@example.cn",
        phone=lambda i: f"1370000{i:04d}",
    )
    members = copies(
        account,
        more,
        holder_id=lambda i: users[i].pk,
        number=lambda i: f"GR{i:09d}9",
        id_number_index=lambda i: f"{i:064x}",
    )
    membership = CollectiveMembership.objects.get(collective=world.collective)
    copies(membership, more, member_id=lambda i: members[i].pk)
    copies(InstitutionBatch.objects.get(collective=world.collective), more)

    # Institutions that applied to the centre for a collective account.
    institutions = copies(
        Institution.objects.get(collective_account=world.collective),
        more,
        name=lambda i: f"幼教机构{i}",
        credit_code=lambda i: f"91500103MB{i:07d}X",
    )
    copies(
        world.collective,
        more,
        institution_id=lambda i: institutions[i].pk,
        number=lambda i: f"JT{i:09d}9",
    )

    # Branch centres of the management centre.
    centre = Centre.objects.get(staff=world.reviewer)
    copies(centre, more, code=lambda i: f"BC{i:03d}", name=lambda i: f"第{i}学习成果认证分中心")

    # The catalogue: entries (all found by the same search) with a version each, and the
    # principal certificate's history of earlier versions.
    version = CatalogueEntryVersion.objects.get(entry=world.entry)
    entries = copies(world.entry, more, code=lambda i: f"VQ-QC-{i:03d}")
    copies(version, more, entry_id=lambda i: entries[i].pk)
    copies(
        version,
        more,
        version=lambda i: i + 2,
        effective_from=SINCE,
        effective_to=SINCE,
        name=lambda i: f"{version.name}（第{i + 2}版）",
    )


# --- Counting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str | Callable[[World, int], str]
    user: str | None  # a World attribute, or None for a visitor
    api: bool = False
    post: dict[str, str] | None = None  # a page read by POST (the staff file: a reason)

    def url(self, world: World, n: int) -> str:
        return self.path(world, n) if callable(self.path) else self.path


def application_of(outcome: LearningOutcome) -> int:
    return Application.objects.get(outcome=outcome).pk


def members_url(suffix: str = "") -> Callable[[World, int], str]:
    return lambda w, n: f"/{suffix}institutions/{w.collective.institution_id}/members/"


ENDPOINTS: dict[str, Endpoint] = {
    # The benchmarked set.
    "dashboard page": Endpoint("/", "learner"),
    "GET /api/v1/accounts/me/": Endpoint("/api/v1/accounts/me/", "learner", api=True),
    "file page": Endpoint("/file/", "learner"),
    "reviewer's queue page": Endpoint("/centre/queue/", "reviewer"),
    "catalogue search page": Endpoint("/catalogue/?q=园长", None),
    "catalogue search API": Endpoint("/api/v1/catalogue/?q=园长", None, api=True),
    "/verify/<serial>/": Endpoint(lambda w, n: f"/verify/{w.serials[n]}/", None),
    # Every other list.
    "outcomes API": Endpoint("/api/v1/outcomes/", "learner", api=True),
    "applications page": Endpoint("/applications/", "learner"),
    "application page (timeline, evidence)": Endpoint(
        lambda w, n: f"/applications/{application_of(w.pending)}/", "learner"
    ),
    "application API (timeline)": Endpoint(
        lambda w, n: f"/api/v1/applications/{application_of(w.pending)}/", "learner", api=True
    ),
    "reviewer's application page": Endpoint(
        lambda w, n: f"/centre/applications/{application_of(w.pending)}/", "reviewer"
    ),
    "outcome page (evidence)": Endpoint(lambda w, n: f"/outcomes/{w.pending.pk}/", "learner"),
    "outcome API (evidence)": Endpoint(
        lambda w, n: f"/api/v1/outcomes/{w.pending.pk}/", "learner", api=True
    ),
    "applications API (learner)": Endpoint("/api/v1/applications/", "learner", api=True),
    "applications API (reviewer)": Endpoint("/api/v1/applications/", "reviewer", api=True),
    "transfers page": Endpoint("/transfers/", "learner"),
    "transfers API": Endpoint("/api/v1/transfers/", "learner", api=True),
    "transfer page (its courses)": Endpoint(
        lambda w, n: f"/transfers/{w.big_transfer.pk}/", "learner"
    ),
    "transfer API (its courses)": Endpoint(
        lambda w, n: f"/api/v1/transfers/{w.big_transfer.pk}/", "learner", api=True
    ),
    "institution's transfer page (its courses)": Endpoint(
        lambda w, n: f"/institution/transfers/{w.big_transfer.pk}/", "officer"
    ),
    "institution's transfers page": Endpoint("/institution/transfers/", "officer"),
    "transfers API (officer)": Endpoint("/api/v1/transfers/", "officer", api=True),
    "certificates page": Endpoint("/certificates/", "learner"),
    "certificates API": Endpoint("/api/v1/certificates/", "learner", api=True),
    "verify API": Endpoint(lambda w, n: f"/api/v1/certificates/verify/{w.serials[n]}/", None, True),
    "notifications page": Endpoint("/notifications/", "learner"),
    "notifications API": Endpoint("/api/v1/notifications/", "learner", api=True),
    "reviewer's notifications page": Endpoint("/notifications/", "reviewer"),
    "members page": Endpoint(members_url(), "institution_admin"),
    "members API": Endpoint(members_url("api/v1/"), "institution_admin", api=True),
    "batches page": Endpoint(
        lambda w, n: f"/institutions/{w.collective.institution_id}/batches/",
        "institution_admin",
    ),
    "batches API": Endpoint(
        lambda w, n: f"/api/v1/institutions/{w.collective.institution_id}/batches/",
        "institution_admin",
        api=True,
    ),
    "ledger statement page": Endpoint("/file/statement/", "learner"),
    "ledger statement API": Endpoint("/api/v1/accounts/me/ledger/", "learner", api=True),
    "inquiry page": Endpoint("/file/inquiry/", "learner"),
    "inquiry API": Endpoint("/api/v1/accounts/me/outcomes/search/", "learner", api=True),
    "staff accesses API": Endpoint("/api/v1/accounts/me/staff-accesses/", "learner", api=True),
    "goals API": Endpoint("/api/v1/transfers/goals/", "learner", api=True),
    "programmes API": Endpoint("/api/v1/transfers/programmes/", "learner", api=True),
    "corrections page": Endpoint("/account/corrections/", "learner"),
    "corrections API": Endpoint("/api/v1/accounts/me/corrections/", "learner", api=True),
    "visits API": Endpoint("/api/v1/accounts/me/visits/", "learner", api=True),
    "learning path page": Endpoint(lambda w, n: f"/file/goals/{w.programme.pk}/", "learner"),
    "learning path API": Endpoint(
        lambda w, n: f"/api/v1/transfers/paths/{w.programme.pk}/", "learner", api=True
    ),
    # The what-if reads every published programme (200 at 200) and the plan a programme of
    # 200 courses.
    "what-if page": Endpoint("/file/what-if/", "learner"),
    "what-if API": Endpoint("/api/v1/transfers/what-if/", "learner", api=True),
    "plan page": Endpoint(lambda w, n: f"/file/goals/{w.programme.pk}/plan/", "learner"),
    "plan API": Endpoint(
        lambda w, n: f"/api/v1/transfers/plans/{w.programme.pk}/", "learner", api=True
    ),
    "visits page": Endpoint("/account/visits/", "learner"),
    "correction queue page": Endpoint("/centre/corrections/", "reviewer"),
    "correction queue API": Endpoint("/api/v1/corrections/", "reviewer", api=True),
    "centre visits page": Endpoint("/centre/visits/", "reviewer"),
    "centre visits API": Endpoint("/api/v1/visits/", "reviewer", api=True),
    "staff file page": Endpoint(
        lambda w, n: f"/centre/learners/{w.account.number}/", "reviewer", post={"reason": "核对"}
    ),
    "collective applications page": Endpoint("/centre/institutions/?status=all", "centre_admin"),
    "collective applications API": Endpoint("/api/v1/institutions/", "centre_admin", api=True),
    # Management.
    "deadlines page": Endpoint("/centre/deadlines/", "manager"),
    "conversion rules management page": Endpoint("/conversion-rules/manage/", "manager"),
    "conversion rules API": Endpoint("/api/v1/conversion-rules/", None, api=True),
    "catalogue entry page": Endpoint(lambda w, n: f"/catalogue/{w.entry.code}/", None),
    "catalogue entry API": Endpoint(lambda w, n: f"/api/v1/catalogue/{w.entry.code}/", None, True),
    # Lists as files.
    "members export": Endpoint(
        lambda w, n: f"/institutions/{w.collective.institution_id}/members/export.csv",
        "institution_admin",
    ),
    "members export API": Endpoint(
        lambda w, n: f"/api/v1/institutions/{w.collective.institution_id}/members/export.csv",
        "institution_admin",
        api=True,
    ),
    "catalogue export": Endpoint("/catalogue/manage/export.csv", "manager"),
    "catalogue export API": Endpoint("/api/v1/catalogue/export/?format=csv", "manager", api=True),
    "conversion rules export": Endpoint("/conversion-rules/manage/export.csv", "manager"),
    "conversion rules export API": Endpoint(
        "/api/v1/conversion-rules/export/?format=csv", "manager", api=True
    ),
    # The admin site's lists the management administrator reads.
    **{
        f"admin: {model}": Endpoint(f"/admin/{model.replace('.', '/')}/", "manager")
        for model in (
            "accounts.user",
            "accounts.centre",
            "accounts.institution",
            "accreditation.application",
            "accreditation.applicationevent",
            "accreditation.decision",
            "accreditation.catalogueentry",
            "transfers.programme",
            "transfers.learninggoal",
        )
    },
}


def client_for(world: World, endpoint: Endpoint) -> Client | APIClient:
    user = getattr(world, endpoint.user) if endpoint.user else None
    if endpoint.api:
        api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        if user is not None:
            api.force_authenticate(user)
        return api
    client = Client()
    if user is not None:
        if user.role == Role.LEARNER:
            client.force_login(user)
        else:
            login_verified(client, user)
    return client


@dataclass
class Count:
    """One endpoint's queries, answer status and answer size, at 1 and at 200."""

    url: str
    at_one: int = 0
    at_200: int = 0
    statuses: list[int] = field(default_factory=list)
    size_at_one: int = 0
    size_at_200: int = 0


def counted(
    client: Client | APIClient, endpoint: Endpoint, url: str, count: Count
) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, endpoint.post) if endpoint.post else client.get(url)
    count.statuses.append(response.status_code)
    return len(queries), len(response.content)


@pytest.fixture(scope="module")
def counts(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, Count]:
    """Every endpoint counted at 1 and at 200 over one world, built once for the module (it
    takes seconds) in a transaction rolled back at the end."""
    media = tmp_path_factory.mktemp("media")
    isolated = module_settings(media)
    results: dict[str, Count] = {}
    with django_db_blocker.unblock(), isolated, transaction.atomic():
        if not CalendarYear.objects.exists():
            calendar_load()
        world = world_build()
        world.serials[1] = world.certificate.serial
        clients = {}
        for name, endpoint in ENDPOINTS.items():
            client = clients[name] = client_for(world, endpoint)
            url = endpoint.url(world, 1)
            client.get(url)  # the session settles
            count = results[name] = Count(url=url)
            count.at_one, count.size_at_one = counted(client, endpoint, url, count)
        grow(world, 200)
        # bulk_create sends no signals: raise the catalogue's revision as the services' writes
        # of catalogue entries and conversion rules do (the catalogue page is cached under it).
        catalogue_revision_bump()
        world.serials[200] = issue(world.account).serial
        for name, endpoint in ENDPOINTS.items():
            url = endpoint.url(world, 200)
            clients[name].get(url)  # the caches settle, as at 1
            count = results[name]
            count.at_200, count.size_at_200 = counted(clients[name], endpoint, url, count)
        transaction.set_rollback(True)
    return results


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_endpoint_reads_as_many_queries_for_200_items_as_for_one(name, counts):
    count = counts[name]
    print(f"\nQUERIES | {name} | {count.url} | {count.at_one} | {count.at_200}")
    assert count.statuses == [200, 200]
    assert count.size_at_200 > count.size_at_one, "the answer at 200 shows no more than at 1"
    assert count.at_200 == count.at_one
