from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccreditationConfig(AppConfig):
    name = "accreditation"
    verbose_name = _("Accreditation")

    def ready(self) -> None:
        from accounts.services import closure_eraser_register, closure_withdrawal_register
        from outcomes.hooks import certificate_number_check_register

        from .catalogue import certificate_number_check
        from .closure import CLOSURE_WITHDRAWAL, account_applications_erase

        # A learner who saves an outcome hears at once that its certificate number does not
        # have the format of the catalogue entry it names.
        certificate_number_check_register(certificate_number_check)
        # Closing an account (accounts, a layer below) withdraws its open applications and
        # removes their free text.
        closure_withdrawal_register(CLOSURE_WITHDRAWAL)
        closure_eraser_register(account_applications_erase)
