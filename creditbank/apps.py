from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditbankConfig(AppConfig):
    name = "creditbank"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.core import checks

        from accounts.rights.services import closure_eraser_register

        from .checks import portal_url_check

        checks.register(portal_url_check)

        from .export import account_exports_erase

        # Closing an account deletes its data exports from storage.
        closure_eraser_register(account_exports_erase)
