from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Learning outcomes")

    def ready(self) -> None:
        from accounts.services import closure_eraser_register, correctable_kind_register

        from .closure import account_outcomes_erase
        from .corrections import decided_outcomes

        # Closing an account (accounts, a layer below) removes outcome text and evidence files.
        closure_eraser_register(account_outcomes_erase)
        # The learner asks a centre to correct a decided outcome's recorded facts.
        correctable_kind_register(decided_outcomes)
