from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.core import checks

        from accounts.signin.checks import sms_backend_check

        checks.register(sms_backend_check, checks.Tags.security, deploy=True)
        from accounts.ledger.models import RevealReason
        from accounts.ledger.reveals import counter_opening_check, reveal_reference_register
        from accounts.rights.services import correction_reveal_check, visit_reveal_check

        # What a reveal of an identity number may refer to, of what this app holds; the
        # applications under review are registered by accreditation.
        reveal_reference_register(RevealReason.COUNTER_OPENING, counter_opening_check)
        reveal_reference_register(RevealReason.CENTRE_VISIT, visit_reveal_check)
        reveal_reference_register(RevealReason.CORRECTION_REQUEST, correction_reveal_check)
