"""Registration: opening a personal learning account and its lifelong learning file, online by
the learner or at a centre by a staff member."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.core.models import Centre, Role, User
from accounts.identity import crypto
from accounts.identity.numbers import mask_identity_number, parse_identity
from accounts.ledger.models import BusinessTransaction, LearningAccount, LifelongLearningFile
from accounts.ledger.services import account_number_generate, transaction_record
from accounts.signin.services import sign_in_identifiers_check
from accounts.validators import normalise_phone


def duplicate_identity() -> ValidationError:
    message = _(
        "A learning account already exists for this identity document. Sign in to it, or "
        "reset its password; if you did not open it, contact an accreditation centre."
    )
    return ValidationError({"id_number": ValidationError(message, code="duplicate")})


@transaction.atomic
def personal_account_register(
    *,
    name: str,
    id_type: str,
    id_number: str,
    phone: str,
    email: str,
    password: str | None,
    opened_by: User | None = None,
    centre: Centre | None = None,
    document_note: str = "",
    phone_verified: bool = False,
) -> LearningAccount:
    """Open a personal learning account and its lifelong learning file, in one transaction.

    Online (no ``opened_by``) the identity is self-declared; at a centre a staff member records
    the document seen, and ``password`` is None: the learner chooses one through the emailed
    link, so staff never handle it. ``email`` may be empty (the phone is then the only
    contact); ``phone_verified`` when the caller has checked an SMS code sent to ``phone``.
    Raises ValidationError keyed by field; nothing is written then.
    """
    try:
        identity = parse_identity(id_type, id_number)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc
    phone = normalise_phone(phone)
    email = email.strip()
    index = crypto.blind_index(identity.number)
    if LearningAccount.objects.filter(kind="personal", id_number_index=index).exists():
        raise duplicate_identity()
    sign_in_identifiers_check(email=email, phone=phone)

    number = account_number_generate(kind=LearningAccount.Kind.PERSONAL)
    while User.objects.filter(username=number).exists():  # one in a billion; cheap to rule out
        number = account_number_generate(kind=LearningAccount.Kind.PERSONAL)
    user = User(username=number, name=name.strip(), email=email, phone=phone, role=Role.LEARNER)
    if phone_verified:
        user.phone_verified_at = timezone.now()
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    in_person = opened_by is not None
    try:
        # A savepoint: a registration that loses a race for the same identity fails here, on
        # the unique index, and is reported like any other duplicate.
        with transaction.atomic():
            user.save()
            account = LearningAccount.objects.create(
                number=number,
                kind=LearningAccount.Kind.PERSONAL,
                holder=user,
                id_type=identity.id_type,
                id_number_encrypted=crypto.encrypt(identity.number),
                id_number_index=index,
                id_number_masked=mask_identity_number(identity.number),
                birth_date=identity.birth_date,
                gender=identity.gender,
                identity_check=(
                    LearningAccount.IdentityCheck.IN_PERSON_AT_CENTRE
                    if in_person
                    else LearningAccount.IdentityCheck.ONLINE_SELF_DECLARED
                ),
                opened_at_centre=centre,
                opened_by=opened_by,
                document_note=document_note,
            )
    except IntegrityError as exc:
        if LearningAccount.objects.filter(kind="personal", id_number_index=index).exists():
            raise duplicate_identity() from exc
        sign_in_identifiers_check(email=email, phone=phone)
        raise
    LifelongLearningFile.objects.create(account=account)
    transaction_record(
        account=account,
        kind=BusinessTransaction.Kind.ACCOUNT_OPENED,
        actor=opened_by or user,
        details={"centre": centre.name if centre else "", "identity_check": account.identity_check},
    )
    return account
