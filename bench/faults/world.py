"""The data the faults act on, written straight into the run's database, and the checks read
back from it. Imported only after ``django.setup()`` with the run's settings."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import Centre, Institution, LedgerEntry, Notification, Role, User
from accreditation.calendar import local_date
from accreditation.models import Application, ApplicationState
from outcomes.models import LearningOutcome
from tests.accounts.factories import (
    CentreFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accreditation.factories import ApplicationFactory, accredited_outcome, catalogue_version
from tests.outcomes.factories import LearningOutcomeFactory, certificate_save
from tests.transfers.factories import programme_with_courses, rule
from transfers.models import Certificate, Course, Programme, TransferItem

COURSES = 3
COURSE_CREDITS = Decimal("3")


@dataclass
class Learner:
    user_id: int
    account_id: int
    token: str
    # Accredited outcomes, one per course of the programme (in course order).
    outcomes: list[int] = field(default_factory=list)
    # A saved outcome, ready to be submitted for accreditation.
    saved: int | None = None


def token_of(user: User) -> str:
    return str(AuthToken.objects.create(user)[1])


def person(**fields: Any) -> User:
    """A user with an email address (the SMTP sink counts what they are sent)."""
    return cast(User, UserFactory(**fields))


@dataclass
class World:
    centre_code: str
    reviewer_id: int
    reviewer_email: str
    admin_email: str
    programme_id: int
    course_ids: list[int]
    officer_token: str
    version_ids: list[int]

    @classmethod
    def build(cls) -> World:
        # Users are made here by the thousand and sign in with tokens only: a fast hash for
        # their (unused) passwords, in this process only.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        centre = cast(Centre, CentreFactory())
        reviewer = person(role=Role.CENTRE_REVIEWER, centre=centre)
        admin = person(role=Role.CENTRE_ADMIN, centre=centre)
        institution = cast(Institution, InstitutionFactory())
        officer = person(role=Role.INSTITUTION_OFFICER, institution=institution)
        programme, courses = programme_with_courses(institution, n=COURSES)
        versions = [
            catalogue_version(code=f"FAULT-{i}", name=f"故障注入证书{i}") for i in range(COURSES)
        ]
        for version, course in zip(versions, courses, strict=True):
            rule(version, course, credits=str(COURSE_CREDITS))
        return cls(
            centre_code=centre.code,
            reviewer_id=reviewer.pk,
            reviewer_email=reviewer.email,
            admin_email=admin.email,
            programme_id=programme.pk,
            course_ids=[c.pk for c in courses],
            officer_token=token_of(officer),
            version_ids=[v.pk for v in versions],
        )

    # --- People ---

    def learners(self, n: int, *, accredited: bool = False, saved: bool = False) -> list[Learner]:
        close_old_connections()
        from accreditation.models import CatalogueEntryVersion

        versions = list(CatalogueEntryVersion.objects.filter(pk__in=self.version_ids))
        versions.sort(key=lambda v: self.version_ids.index(v.pk))
        decider = User.objects.get(pk=self.reviewer_id)
        made = []
        for _ in range(n):
            user = person(role=Role.LEARNER)
            account = PersonalAccountFactory(holder=user)
            learner = Learner(user_id=user.pk, account_id=account.pk, token=token_of(user))
            if accredited:
                learner.outcomes = [accredited_outcome(account, v, decider).pk for v in versions]
            if saved:
                learner.saved = certificate_save(account, title="故障注入保存的证书").pk
            made.append(learner)
        return made

    def sweep_applications(self, reminders: int, escalations: int) -> tuple[list[int], list[int]]:
        """Open applications assigned to the reviewer: ``reminders`` whose reminder is due
        today, ``escalations`` that are overdue."""
        close_old_connections()
        today = local_date(timezone.now())
        day = datetime.timedelta(days=1)
        account = PersonalAccountFactory()
        centre = Centre.objects.get(code=self.centre_code)
        reviewer = User.objects.get(pk=self.reviewer_id)

        def make(due_on: datetime.date, remind_on: datetime.date) -> int:
            outcome = LearningOutcomeFactory(account=account)
            return ApplicationFactory(
                outcome=outcome,
                centre=centre,
                state=ApplicationState.IN_REVIEW,
                assigned_to=reviewer,
                due_on=due_on,
                remind_on=remind_on,
            ).pk

        with transaction.atomic():  # a sweep sees all of them or none
            remind = [make(today + 2 * day, today - day) for _ in range(reminders)]
            escalate = [make(today - day, today - 4 * day) for _ in range(escalations)]
        return remind, escalate

    # --- Reading back ---

    def worker_holds_row_lock(self, table: str) -> bool:
        """A worker's transaction holds row locks (SELECT ... FOR UPDATE) on ``table``: it is
        in the middle of the work that takes them."""
        from .stack import WORKER_DB_NAME

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.relation = %s::regclass AND l.mode = 'RowShareLock' "
                "AND a.application_name = %s",
                [table, WORKER_DB_NAME],
            )
            row = cursor.fetchone()
        return bool(row and row[0])

    @staticmethod
    def certificates(serials: list[str]) -> list[Certificate]:
        close_old_connections()
        return list(Certificate.objects.filter(serial__in=serials))

    @staticmethod
    def applications_done(remind: list[int], escalate: list[int]) -> bool:
        close_old_connections()
        left = Application.objects.filter(pk__in=remind, reminded_at__isnull=True).count()
        left += Application.objects.filter(pk__in=escalate, escalated_at__isnull=True).count()
        return left == 0

    @staticmethod
    def notices(kind: str, application_ids: list[int]) -> dict[int, int]:
        """Notices of ``kind`` per application id."""
        close_old_connections()
        counts: dict[int, int] = dict.fromkeys(application_ids, 0)
        for params in Notification.objects.filter(kind=kind).values_list("params", flat=True):
            app = int(params.get("application", 0)) if isinstance(params, dict) else 0
            if app in counts:
                counts[app] += 1
        return counts

    @staticmethod
    def certificate_notices(certificate_ids: list[int]) -> dict[int, int]:
        close_old_connections()
        counts = dict.fromkeys(certificate_ids, 0)
        for key in Notification.objects.filter(
            kind=Notification.Kind.CERTIFICATE_READY
        ).values_list("key", flat=True):
            pk = int(key.split(":")[1])
            if pk in counts:
                counts[pk] += 1
        return counts

    @staticmethod
    def applications_of_outcomes(outcome_ids: list[int]) -> dict[int, int]:
        close_old_connections()
        counts = dict.fromkeys(outcome_ids, 0)
        for outcome_id in Application.objects.filter(outcome_id__in=outcome_ids).values_list(
            "outcome_id", flat=True
        ):
            counts[outcome_id] += 1
        return counts

    def transfer_state(self, learners: list[Learner]) -> dict[str, Any]:
        """Per learner and course: transfer items, accepted ones, ledger entries; and the
        transferred book's total against the sum of its entries."""
        close_old_connections()
        items: dict[tuple[int, int], list[TransferItem]] = {}
        for item in TransferItem.objects.filter(
            account_id__in=[x.account_id for x in learners]
        ).order_by("pk"):
            items.setdefault((item.account_id, item.course_id), []).append(item)
        entries: dict[str, int] = {}
        sums: dict[int, Decimal] = {}
        for entry in LedgerEntry.objects.filter(
            account_id__in=[x.account_id for x in learners], book=LedgerEntry.Book.TRANSFERRED
        ):
            entries[entry.cause_id] = entries.get(entry.cause_id, 0) + 1
            sums[entry.account_id] = sums.get(entry.account_id, Decimal(0)) + entry.credits
        return {"items": items, "entries": entries, "sums": sums}

    @staticmethod
    def outcome_ids_saved(learners: list[Learner]) -> list[int]:
        return [x.saved for x in learners if x.saved is not None]

    @staticmethod
    def course(pk: int) -> Course:
        return Course.objects.get(pk=pk)

    @staticmethod
    def programme(pk: int) -> Programme:
        return Programme.objects.get(pk=pk)

    @staticmethod
    def outcome(pk: int) -> LearningOutcome:
        return LearningOutcome.objects.get(pk=pk)
