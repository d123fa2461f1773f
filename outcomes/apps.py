from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Learning outcomes")

    def ready(self) -> None:
        from accounts.rights import closure_eraser_register

        from .closure import account_outcomes_erase

        # Closing an account (accounts, a layer below) removes outcome text and evidence files.
        closure_eraser_register(account_outcomes_erase)
