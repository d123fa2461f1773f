"""Collective learning accounts: an institution applies, a centre administrator decides, and the
institution's administrator imports members and follows their progress.

Services here are what the collective pages and API call; they raise ValidationError keyed by
field (``file`` for an import refused as a whole, MemberRowsInvalid for row problems) and
PermissionDenied when the caller may not act on the account. Nothing is half-written: each
service writes in one transaction or not at all.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.collective import stage
from accounts.collective.imports import (
    COLUMNS,
    EMAIL,
    ID_NUMBER,
    MAX_ROWS,
    PHONE,
    MemberRow,
    MemberRowsInvalid,
    member_row_check,
    member_table_read,
)
from accounts.collective.models import (
    CollectiveApplicationEvent,
    CollectiveMembership,
    CollectiveMembershipEvent,
    MemberImport,
)
from accounts.collective.workflow import APPLICATION, INVITATION
from accounts.core.models import Centre, Institution, Role, User
from accounts.ledger.models import (
    BusinessTransaction,
    LearningAccount,
    LedgerEntry,
    LifelongLearningFile,
)
from accounts.ledger.services import account_lock, account_number_generate, transaction_record
from accounts.notifications.models import Notification
from accounts.notifications.services import notify_many
from accounts.signin.permissions import user_acts_for_institution, user_has_role
from accounts.validators import normalise_phone, validate_unified_social_credit_code
from accounts.webhooks.models import EventType
from accounts.webhooks.services import webhook_event_record
from common.tables import MAX_FILE_BYTES, RowErrors, Table, table_write

# The kinds of institution that hold a collective account for their members; degree
# institutions and certificate bodies receive credit transfers instead.
COLLECTIVE_KINDS = (
    Institution.Kind.ENTERPRISE,
    Institution.Kind.SCHOOL,
    Institution.Kind.TRAINING_ORGANISATION,
)

# Lookups over the people of a file go to the database this many values at a time: a 10,000-row
# file is one query per lookup, and no query exceeds the parameter limits of SQLite (32,766
# since 3.32) or of PostgreSQL's wire protocol (65,535).
LOOKUP_CHUNK = 10_000
INSERT_BATCH = 1_000
WRITE_CHUNK = 2_000

T = TypeVar("T")


def _chunks(values: list[T], size: int = LOOKUP_CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def collective_centres() -> QuerySet[Centre]:
    """The centres an institution may apply to: the active accreditation branch centres."""
    return Centre.objects.filter(kind=Centre.Kind.BRANCH, is_active=True).order_by("code")


# --- Applying and deciding --------------------------------------------------------------------


def _identifiers_in_use(*, email: str, phone: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if email and User.objects.alias(e=Lower("email")).filter(e=email.lower()).exists():
        errors["admin_email"] = _("This email address is already used by another account.")
    if phone and User.objects.filter(phone=phone).exists():
        errors["admin_phone"] = _("This mobile phone number is already used by another account.")
    return errors


def _credit_code_taken() -> str:
    return _(
        "An institution with this unified social credit code has already applied or holds an "
        "account. If you think this is wrong, contact the accreditation centre."
    )


@transaction.atomic
def collective_account_apply(
    *,
    name: str,
    kind: str,
    credit_code: str,
    centre: Centre,
    admin_name: str,
    admin_email: str,
    admin_phone: str,
    admin_password: str,
) -> LearningAccount:
    """An institution applies for a collective account at a branch centre.

    Creates, together, the institution (inactive until approved), its administrator (who signs
    in with the email or phone and a second factor) and the collective account, pending.
    """
    name, admin_name = name.strip(), admin_name.strip()
    credit_code = credit_code.strip().upper()
    admin_email, admin_phone = admin_email.strip(), normalise_phone(admin_phone)
    errors: dict[str, Any] = {}
    if not name:
        errors["name"] = _("Please enter the name of the institution.")
    if kind not in COLLECTIVE_KINDS:
        errors["kind"] = _("Choose an enterprise, a school or a training organisation.")
    try:
        validate_unified_social_credit_code(credit_code)
    except ValidationError as exc:
        errors["credit_code"] = exc.messages
    else:
        if Institution.objects.filter(credit_code=credit_code).exists():
            errors["credit_code"] = _credit_code_taken()
    if centre.kind != Centre.Kind.BRANCH or not centre.is_active:
        errors["centre"] = _("Choose one of the accreditation branch centres.")
    if not admin_name:
        errors["admin_name"] = _("Please enter the administrator's name.")
    errors.update(_identifiers_in_use(email=admin_email, phone=admin_phone))
    admin = User(
        username=f"{credit_code}-admin",
        name=admin_name,
        email=admin_email,
        phone=admin_phone,
        role=Role.INSTITUTION_ADMIN,
    )
    try:
        validate_password(admin_password, admin)
    except ValidationError as exc:
        errors["admin_password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    admin.set_password(admin_password)

    try:
        # A savepoint: an application that loses a race for the same credit code, email or
        # phone fails here, on a unique index, and is reported like any other duplicate.
        with transaction.atomic():
            institution = Institution.objects.create(
                name=name, kind=kind, credit_code=credit_code, centre=centre, is_active=False
            )
            admin.institution = institution
            admin.save()
            account = LearningAccount.objects.create(
                number=_free_numbers(kind=LearningAccount.Kind.COLLECTIVE, count=1)[0],
                kind=LearningAccount.Kind.COLLECTIVE,
                status=LearningAccount.Status.PENDING,
                institution=institution,
                opened_by=admin,
            )
            transaction_record(
                account=account,
                kind=BusinessTransaction.Kind.COLLECTIVE_APPLIED,
                actor=admin,
                details={"centre": str(centre), "institution": name},
            )
    except IntegrityError:
        errors = _identifiers_in_use(email=admin_email, phone=admin_phone)
        if Institution.objects.filter(credit_code=credit_code).exists():
            errors["credit_code"] = _credit_code_taken()
        if errors:
            raise ValidationError(errors) from None
        raise
    return account


def _save_decision(account: LearningAccount) -> None:
    account.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])


@transaction.atomic
def collective_account_decide(
    *, institution: Institution, decided_by: User, approve: bool, reason: str = ""
) -> LearningAccount:
    """A centre administrator of the institution's centre approves the application (the
    account and the institution become active) or rejects it with a reason."""
    if (
        not user_has_role(decided_by, Role.CENTRE_ADMIN)
        or decided_by.centre_id is None
        or decided_by.centre_id != institution.centre_id
    ):
        raise PermissionDenied
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationError(
            {"reason": _("Give the reason for the rejection; the institution will see it.")}
        )
    if len(reason) > 500:
        raise ValidationError({"reason": _("The reason is longer than 500 characters.")})
    # Two administrators (or one double click) may decide the same application at the same
    # moment. The row lock makes the second wait until the first has committed and then read
    # its decision, so an application is decided once, with one business transaction, and is
    # never both approved and rejected. Locked here by its institution, not with account_lock
    # (by id), which would first need a query for the id.
    account = LearningAccount.objects.select_for_update().get(
        institution=institution, kind=LearningAccount.Kind.COLLECTIVE
    )
    Action = CollectiveApplicationEvent.Action
    action = Action.APPROVE if approve else Action.REJECT
    if not APPLICATION.is_allowed(account.status, action):
        raise APPLICATION.refuse(account.status, action)
    account.decided_by = decided_by
    account.decided_at = timezone.now()
    account.decision_note = reason
    APPLICATION.move(account, action=action, actor=decided_by, reason=reason, save=_save_decision)
    if approve:
        institution.is_active = True
        institution.save(update_fields=["is_active"])
    transaction_record(
        account=account,
        kind=(
            BusinessTransaction.Kind.ACCOUNT_OPENED
            if approve
            else BusinessTransaction.Kind.COLLECTIVE_REJECTED
        ),
        actor=decided_by,
        details={
            "centre": str(institution.centre),
            "institution": institution.name,
            "reason": reason,
        },
    )
    return account


@transaction.atomic
def collective_account_ensure(
    *, institution: Institution, admin: User, decided_by: User
) -> LearningAccount:
    """The open collective account of an institution the centre already knows (the demo's, or
    one set up by hand): created active, as if applied for by ``admin`` and approved by
    ``decided_by``, the first time; returned unchanged afterwards (idempotent)."""
    existing = LearningAccount.objects.filter(
        institution=institution, kind=LearningAccount.Kind.COLLECTIVE
    ).first()
    if existing is not None:
        return existing
    account = LearningAccount.objects.create(
        number=_free_numbers(kind=LearningAccount.Kind.COLLECTIVE, count=1)[0],
        kind=LearningAccount.Kind.COLLECTIVE,
        status=LearningAccount.Status.ACTIVE,
        institution=institution,
        opened_by=admin,
        decided_by=decided_by,
        decided_at=timezone.now(),
    )
    if not institution.is_active:
        institution.is_active = True
        institution.save(update_fields=["is_active"])
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.ACCOUNT_OPENED,
        actor=decided_by,
        details={"centre": str(institution.centre), "institution": institution.name, "reason": ""},
    )
    return account


# --- Who sees which institution -----------------------------------------------------------------


def applications_for(*, user: User) -> QuerySet[Institution]:
    """The institutions that applied to the centre administrator's centre, with their
    collective account; an administrator of another centre sees none of them."""
    if not user_has_role(user, Role.CENTRE_ADMIN) or user.centre_id is None:
        return Institution.objects.none()
    return (
        Institution.objects.filter(centre_id=user.centre_id, collective_account__isnull=False)
        .select_related("centre", "collective_account", "collective_account__opened_by")
        .order_by("collective_account__opened_at", "pk")
    )


def collective_of(*, user: User, institution_id: int) -> LearningAccount | None:
    """The collective account of the institution, if ``user`` administers that institution."""
    if (
        not user_acts_for_institution(user, Role.INSTITUTION_ADMIN)
        or user.institution_id != institution_id
    ):
        return None
    return (
        LearningAccount.objects.select_related("institution", "institution__centre")
        .filter(kind=LearningAccount.Kind.COLLECTIVE, institution_id=institution_id)
        .first()
    )


def _check_administers(*, user: User, collective: LearningAccount) -> None:
    if (
        not user_acts_for_institution(user, Role.INSTITUTION_ADMIN)
        or collective.kind != LearningAccount.Kind.COLLECTIVE
        or user.institution_id is None
        or user.institution_id != collective.institution_id
    ):
        raise PermissionDenied


# --- Importing members ------------------------------------------------------------------------


def _not_active() -> ValidationError:
    return ValidationError(
        {"file": _("Members can be imported once the centre has approved the collective account.")}
    )


def collective_members_import(
    *,
    collective: LearningAccount,
    uploaded_by: User,
    filename: str,
    data: bytes | BinaryIO,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
) -> MemberImport:
    """Add the people listed in an uploaded CSV or XLSX file to the collective account.

    A person who has a personal learning account (found by the identity number) is invited:
    they are told, and the institution sees nothing of their account until they accept (a
    name that differs from the holder's is not checked, nor reported: the row says nothing
    about anyone's account, and the learner declines an invitation that is not theirs). Anyone
    else gets a personal account opened for them, reported by the institution, with its
    lifelong learning file, and is a member at once. Every row is
    checked first and every problem reported (MemberRowsInvalid); any problem, and nothing is
    written.

    The file (bytes, or an open binary file) is read a chunk of rows at a time inside the
    transaction: each chunk is checked, looked up in a few queries and staged in a temporary
    table (accounts.collective.stage), then the rows are checked against each other and the
    new accounts written set-based from that table. Memory stays flat however long the file;
    ``max_rows`` and ``max_bytes`` are the upload's limits.
    """
    _check_administers(user=uploaded_by, collective=collective)
    if collective.status != LearningAccount.Status.ACTIVE:
        raise _not_active()
    try:
        with (
            member_table_read(
                data=data, filename=filename, max_rows=max_rows, max_bytes=max_bytes
            ) as table,
            transaction.atomic(),
        ):
            return _members_import(
                collective=collective, uploaded_by=uploaded_by, filename=filename, table=table
            )
    except IntegrityError:
        # Someone registered one of these people, or used one of their addresses, between
        # our checks and the insert (possible on PostgreSQL only; SQLite writes one at a
        # time). Everything was rolled back; the next attempt will report the row.
        raise ValidationError(
            {
                "file": _(
                    "Some of these people were registered by someone else at the same moment. "
                    "Nothing was imported; upload the file again."
                )
            }
        ) from None


def _members_import(
    *, collective: LearningAccount, uploaded_by: User, filename: str, table: Table
) -> MemberImport:
    # Two imports into one collective account at the same moment would each find a person
    # not yet a member and both add them; the lock on the collective account's row makes the
    # second wait for the first and then see its memberships. The institution is the one the
    # caller loaded with the account (collective_of does), so the lock reads only the row.
    institution = collective.institution
    collective = account_lock(collective.pk)
    if collective.status != LearningAccount.Status.ACTIVE:
        raise _not_active()
    # The problems of each row on its own, of rows against each other, and of rows against
    # the database: reported in that order within a cell, as when they were found together.
    checks = RowErrors(table.headings, COLUMNS)
    found_errors = RowErrors(table.headings, COLUMNS)
    stage.stage_create()
    for chunk in stage.chunks(table.rows):
        members = [m for source in chunk if (m := member_row_check(source, checks)) is not None]
        _members_stage(collective=collective, members=members, checks=checks, errors=found_errors)
    rows = table.count
    if checks or found_errors or any(True for _d in stage.duplicates()):
        errors = RowErrors(table.headings, COLUMNS)
        for error in checks.items:
            errors.add(error.row, error.column, error.message)
        for row, column, first in stage.duplicates():
            errors.add(row, column, _DUPLICATE_MESSAGES[column]() % {"row": first})
        for error in found_errors.items:
            errors.add(error.row, error.column, error.message)
        raise MemberRowsInvalid(errors.sorted())
    stage.stage_analyze()
    opened, linked = stage.staged_counts()
    now = timezone.now()
    institution_name = institution.name if institution else ""
    member_import = MemberImport.objects.create(
        collective=collective,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        rows=rows,
        accounts_opened=opened,
        accounts_linked=linked,
        created_at=now,
    )
    if opened:
        _members_open(
            collective=collective,
            uploaded_by=uploaded_by,
            member_import=member_import,
            institution_name=institution_name,
            now=now,
        )
    for link_chunk in stage.staged_links(WRITE_CHUNK):
        _members_invite(
            link_chunk,
            collective=collective,
            uploaded_by=uploaded_by,
            member_import=member_import,
            institution_name=institution_name,
            now=now,
        )
    stage.stage_drop()
    return member_import


_DUPLICATE_MESSAGES = {
    ID_NUMBER: lambda: _("This identity number is also on row %(row)d; list each person once."),
    PHONE: lambda: _(
        "This mobile phone number is also on row %(row)d; each person needs their own."
    ),
    EMAIL: lambda: _("This email address is also on row %(row)d; each person needs their own."),
}


def _members_stage(
    *,
    collective: LearningAccount,
    members: list[MemberRow],
    checks: RowErrors,
    errors: RowErrors,
) -> None:
    """Look one chunk of people up and decide, row by row, to invite or to open; problems go
    to ``errors``; the rows go to the staging table. Once any row has a problem nothing will
    be written, so what only the writes need (account numbers, encryption) is skipped."""
    found = stage.Found(collective=collective, members=members)
    on_the_list: dict[str, str] = {
        CollectiveMembership.Status.ACTIVE: _("This person is already a member."),
        CollectiveMembership.Status.INVITED: _(
            "This person is already invited and has not answered yet."
        ),
        CollectiveMembership.Status.DECLINED: _(
            "This person declined an earlier invitation and is not invited again."
        ),
    }
    opening: list[MemberRow] = []
    for member in members:
        row = member.number
        account = found.account(member)
        if account is not None:
            # Whoever the name on the row, the same answer: the row tells nothing about the
            # account (the holder's name, contact details), and an invitation that is not
            # the learner's is one they decline.
            pk, status = account
            if pk in found.memberships:
                errors.add(row, ID_NUMBER, on_the_list[found.memberships[pk]])
            elif status != LearningAccount.Status.ACTIVE:
                errors.add(
                    row,
                    ID_NUMBER,
                    _(
                        "This person cannot be added to the member list; the person should "
                        "contact an accreditation centre."
                    ),
                )
            continue
        opening.append(member)
        if not member.phone and not checks.has(row, PHONE):
            errors.add(
                row, PHONE, _("A new learning account needs the person's mobile phone number.")
            )
        if not member.email and not checks.has(row, EMAIL):
            errors.add(row, EMAIL, _("A new learning account needs the person's email address."))
        # An invited person's row keeps their own contact details (the file's are not used), so
        # they are checked only for an account to open: checked against an existing account,
        # the answer would tell whether an address is its holder's.
        if member.email and member.email.lower() in found.emails:
            errors.add(
                row, EMAIL, _("This email address is already used by another person's account.")
            )
        if member.phone and member.phone in found.phones:
            errors.add(
                row,
                PHONE,
                _("This mobile phone number is already used by another person's account."),
            )
    writing = not (checks or errors)
    numbers = iter(stage.numbers_free(len(opening)) if writing else [])
    staged = []
    for member in members:
        account = found.account(member)
        staged.append(
            stage.staged(
                member,
                index=found.index[member.number],
                account_id=account[0] if account else None,
                number=next(numbers) if writing and account is None else "",
            )
        )
    stage.stage_write(staged)


def _members_open(
    *,
    collective: LearningAccount,
    uploaded_by: User,
    member_import: MemberImport,
    institution_name: str,
    now: datetime.datetime,
) -> None:
    """Open the personal accounts of the staged new members, each table in one statement:
    users, accounts, files, the opening in their history, and their membership."""
    stage.insert_select(
        User,
        columns={
            "username": "s.number",
            "name": "s.name",
            "email": "s.email",
            "phone": "s.phone",
            "password": "s.password",
        },
        constants={"role": Role.LEARNER, "date_joined": now},
        source=stage.opened_source(),
    )
    stage.insert_select(
        LearningAccount,
        columns={
            "number": "s.number",
            "holder_id": "u.id",
            "id_type": "s.id_type",
            "id_number_encrypted": "s.enc",
            "id_number_index": "s.idx",
            "id_number_masked": "s.masked",
            "birth_date": "s.birth",
            "gender": "s.gender",
        },
        constants={
            "kind": LearningAccount.Kind.PERSONAL,
            "status": LearningAccount.Status.ACTIVE,
            "identity_check": LearningAccount.IdentityCheck.REPORTED_BY_INSTITUTION,
            "opened_at": now,
            "opened_by_id": uploaded_by.pk,
        },
        source=stage.opened_source(stage.user_join()),
    )
    opened = stage.opened_source(stage.account_join())
    stage.insert_select(
        LifelongLearningFile,
        columns={"account_id": "a.id"},
        constants={"created_at": now},
        source=opened,
    )
    stage.insert_select(
        BusinessTransaction,
        columns={"account_id": "a.id"},
        constants={
            "kind": BusinessTransaction.Kind.ACCOUNT_OPENED,
            "occurred_at": now,
            "actor_id": uploaded_by.pk,
            "details": {
                "institution": institution_name,
                "identity_check": LearningAccount.IdentityCheck.REPORTED_BY_INSTITUTION,
                "member_import": member_import.pk,
            },
        },
        source=opened,
    )
    stage.insert_select(
        CollectiveMembership,
        columns={"member_id": "a.id"},
        constants={
            "collective_id": collective.pk,
            "joined_at": now,
            "added_by_id": uploaded_by.pk,
            "member_import_id": member_import.pk,
            "status": CollectiveMembership.Status.ACTIVE,
            "listed_name": "",
        },
        source=opened,
    )


def _members_invite(
    link_chunk: list[tuple[int, str]],
    *,
    collective: LearningAccount,
    uploaded_by: User,
    member_import: MemberImport,
    institution_name: str,
    now: datetime.datetime,
) -> None:
    """Invite one chunk of the staged people who have an account already: a learner who
    already has an account is invited, never linked: the invitation is in their history and
    their notices, and the institution sees "invited" until they answer."""
    accounts = LearningAccount.objects.select_related("holder").in_bulk(
        [pk for pk, _name in link_chunk]
    )
    invited = [(accounts[pk], name) for pk, name in link_chunk]
    BusinessTransaction.objects.bulk_create(
        [
            BusinessTransaction(
                account_id=account.pk,
                kind=BusinessTransaction.Kind.COLLECTIVE_INVITED,
                occurred_at=now,
                actor_id=uploaded_by.pk,
                details={
                    "collective_account": collective.number,
                    "institution": institution_name,
                    "member_import": member_import.pk,
                },
            )
            for account, _name in invited
        ],
        batch_size=INSERT_BATCH,
    )
    _memberships_create(
        collective=collective,
        accounts=[account for account, _name in invited],
        member_import=member_import,
        added_by=uploaded_by,
        now=now,
        status=CollectiveMembership.Status.INVITED,
        listed_names=[name for _account, name in invited],
    )
    notify_many(
        recipients=[account.holder for account, _name in invited if account.holder],
        kind=Notification.Kind.COLLECTIVE_INVITATION,
        params={"institution": institution_name},
        link=reverse("learning-file") + "#collective-invitations",
        key=f"collective_invitation:import:{member_import.pk}",
    )


def _free_numbers(*, kind: str, count: int) -> list[str]:
    """``count`` new account numbers, distinct from each other and from every account number
    and username in use (nine random digits: among 10,000 new numbers a clash is likely
    enough to rule out)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        wanted = count - len(numbers)
        fresh = {account_number_generate(kind=kind) for _n in range(wanted)} - numbers
        candidates = sorted(fresh)
        taken: set[str] = set()
        for chunk in _chunks(candidates):
            taken.update(
                LearningAccount.objects.filter(number__in=chunk).values_list("number", flat=True)
            )
            taken.update(User.objects.filter(username__in=chunk).values_list("username", flat=True))
        numbers.update(fresh - taken)
    return sorted(numbers)[:count]


# --- Members and their progress -----------------------------------------------------------------

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=10, decimal_places=1))


def _ledger_total(field: str) -> Coalesce:
    total = (
        LedgerEntry.objects.filter(account=OuterRef("member_id"), book=LedgerEntry.Book.ACCUMULATED)
        .order_by()
        .values("account")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(
        Subquery(total, output_field=DecimalField(max_digits=10, decimal_places=1)), _ZERO
    )


def _for_members(value: Any) -> Case:
    """``value`` for a member; None for a person invited or who declined, so that nothing of
    their account leaves the database for the institution."""
    return Case(When(status=CollectiveMembership.Status.ACTIVE, then=value), default=None)


def collective_members(*, collective: LearningAccount) -> QuerySet[CollectiveMembership]:
    """The member list of the collective account, in one query: members with their account,
    holder and ``hours`` and ``credits`` from the ledger (subqueries, computed for the rows a
    page shows); people invited or who declined with their ``status`` and the name the
    institution wrote only (``hours`` and ``credits`` None; show rows through
    ``membership_shown``). Sorted by the name the institution sees, never by one it does not."""
    return (
        CollectiveMembership.objects.filter(collective=collective)
        .select_related("member", "member__holder")
        .annotate(
            hours=_for_members(_ledger_total("hours")),
            credits=_for_members(_ledger_total("credits")),
            shown_name=Coalesce(_for_members(F("member__holder__name")), F("listed_name")),
            shown_number=_for_members(F("member__number")),
        )
        .order_by("shown_name", "shown_number", "pk")
    )


def collective_membership_counts(*, collective: LearningAccount) -> dict[str, int]:
    """How many members the collective account has, and how many people it invited have not
    answered yet; one query (the institution administrator's home page)."""
    Status = CollectiveMembership.Status
    return CollectiveMembership.objects.filter(collective=collective).aggregate(
        members=Count("pk", filter=Q(status=Status.ACTIVE)),
        invited=Count("pk", filter=Q(status=Status.INVITED)),
    )


@dataclass(frozen=True)
class MemberShown:
    """A row of the member list as the institution may see it: everything but the status and
    the masked identity number (the number it wrote) is None until the person is a member;
    the name is then the one it wrote."""

    status: str
    status_label: str
    name: str
    id_type: str
    id_type_label: str
    id_number_masked: str
    account_number: str | None
    joined_at: datetime.datetime | None
    hours: Decimal | None
    credits: Decimal | None


def membership_shown(membership: CollectiveMembership) -> MemberShown:
    """What the institution sees of one row of ``collective_members``."""
    account = membership.member
    member = membership.is_member
    return MemberShown(
        status=membership.status,
        status_label=str(membership.get_status_display()),
        name=getattr(membership, "shown_name", None)
        or (account.holder.name if member and account.holder else membership.listed_name),
        id_type=account.id_type,
        id_type_label=str(account.get_id_type_display()),
        id_number_masked=account.id_number_masked,
        account_number=account.number if member else None,
        joined_at=membership.joined_at if member else None,
        hours=getattr(membership, "hours", None) if member else None,
        credits=getattr(membership, "credits", None) if member else None,
    )


def collective_members_export(*, collective: LearningAccount, file_format: str) -> bytes:
    """The member list as a CSV or XLSX file. A learner's own text (the name) can never become
    a formula in the spreadsheet that opens it."""
    headings = [
        _("Account number"),
        _("Name"),
        _("Identity document"),
        _("Identity number"),
        _("Joined"),
        _("Learning hours"),
        _("Credits"),
        _("Status"),
    ]
    rows = _export_rows(collective_members(collective=collective).iterator(chunk_size=2000))
    return table_write(
        rows, headings=headings, fmt="xlsx" if file_format == "xlsx" else "csv", title=_("Members")
    )


def _export_rows(memberships: Iterable[CollectiveMembership]) -> Iterator[list[object]]:
    for membership in memberships:
        shown = membership_shown(membership)
        yield [
            shown.account_number or "",
            shown.name,
            shown.id_type_label,
            shown.id_number_masked,
            timezone.localtime(shown.joined_at).date() if shown.joined_at else "",
            "" if shown.hours is None else shown.hours,
            "" if shown.credits is None else shown.credits,
            shown.status_label,
        ]


# --- A learner's invitations ----------------------------------------------------------------------


def collective_memberships_of(*, account: LearningAccount) -> QuerySet[CollectiveMembership]:
    """The learner's places on institutions' member lists (invited, joined or declined),
    newest first, with the institution."""
    return (
        CollectiveMembership.objects.filter(member=account)
        .select_related("collective__institution", "member_import")
        .order_by("-joined_at", "-pk")
    )


def collective_invitations_of(*, account: LearningAccount) -> QuerySet[CollectiveMembership]:
    """The invitations the learner has yet to answer."""
    return collective_memberships_of(account=account).filter(
        status=CollectiveMembership.Status.INVITED
    )


def collective_invitation_accept(
    *, membership: CollectiveMembership, actor: User
) -> CollectiveMembership:
    """The learner accepts: from now on the institution sees their account number, name,
    hours and credits."""
    return _invitation_answer(membership=membership, actor=actor, accept=True)


def collective_invitation_decline(
    *, membership: CollectiveMembership, actor: User
) -> CollectiveMembership:
    """The learner declines: the institution sees "declined" and never their account."""
    return _invitation_answer(membership=membership, actor=actor, accept=False)


def _save_answer(membership: CollectiveMembership) -> None:
    membership.save(update_fields=["status", "joined_at"])


# The reason of an invitation declined because the learner's account was closed (a code, as
# the other layers' withdrawals on closure store it).
INVITATION_CLOSED_REASON = "account_closed"


def collective_invitations_close(*, account: LearningAccount) -> int:
    """On the account's closure (the caller holds its lock and the transaction): every
    invitation still open is declined through ``INVITATION`` (an event by no one, with the
    closure as its reason), and the names the institutions wrote go from all its memberships,
    so that an institution sees "declined" and no name. A second run finds nothing to do."""
    invitations = list(
        CollectiveMembership.objects.select_for_update(of=("self",))
        .select_related("collective")
        .filter(member=account, status=CollectiveMembership.Status.INVITED)
        .order_by("pk")
    )
    for membership in invitations:
        INVITATION.move(
            membership,
            action=CollectiveMembershipEvent.Action.DECLINE,
            reason=INVITATION_CLOSED_REASON,
            details={"collective_account": membership.collective.number},
            save=_save_answer,
        )
    CollectiveMembership.objects.filter(member=account).exclude(listed_name="").update(
        listed_name=""
    )
    return len(invitations)


@transaction.atomic
def _invitation_answer(
    *, membership: CollectiveMembership, actor: User, accept: bool
) -> CollectiveMembership:
    # Locked, so that two answers (a double click, two tabs, accept and decline at once)
    # cannot both find the invitation open: the second waits, then finds it answered.
    membership = (
        CollectiveMembership.objects.select_for_update(of=("self",))
        .select_related("member", "collective__institution")
        .get(pk=membership.pk)
    )
    if membership.member.holder_id is None or membership.member.holder_id != actor.pk:
        raise PermissionDenied
    Action = CollectiveMembershipEvent.Action
    action = Action.ACCEPT if accept else Action.DECLINE
    if accept:
        membership.joined_at = timezone.now()
    institution = membership.collective.institution
    INVITATION.move(
        membership,
        action=action,
        actor=actor,
        details={"collective_account": membership.collective.number},
        save=_save_answer,
    )
    transaction_record(
        account=membership.member,
        kind=(
            BusinessTransaction.Kind.JOINED_COLLECTIVE
            if accept
            else BusinessTransaction.Kind.COLLECTIVE_INVITATION_DECLINED
        ),
        actor=actor,
        details={
            "collective_account": membership.collective.number,
            "institution": institution.name if institution else "",
        },
    )
    # The institution learns the answer (it shows on its member list); the account itself only
    # on the list, once accepted.
    webhook_event_record(
        institution_id=institution.pk if institution else None,
        event_type=EventType.MEMBER_INVITATION_ANSWERED,
        data={
            "membership": membership.pk,
            "answer": "accepted" if accept else "declined",
            "answered_at": timezone.now().isoformat(),
        },
    )
    return membership


def _memberships_create(
    *,
    collective: LearningAccount,
    accounts: list[LearningAccount],
    member_import: MemberImport,
    added_by: User,
    now: datetime.datetime,
    status: str = CollectiveMembership.Status.ACTIVE,
    listed_names: list[str] | None = None,
) -> None:
    """The memberships an import adds: new accounts as members, existing ones invited."""
    names = listed_names if listed_names is not None else [""] * len(accounts)
    CollectiveMembership.objects.bulk_create(
        [
            CollectiveMembership(
                collective_id=collective.pk,
                member_id=account.pk,
                joined_at=now,
                added_by_id=added_by.pk,
                member_import_id=member_import.pk,
                status=status,
                listed_name=name[:150],
            )
            for account, name in zip(accounts, names, strict=True)
        ],
        batch_size=INSERT_BATCH,
    )
