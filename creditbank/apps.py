from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditbankConfig(AppConfig):
    name = "creditbank"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from accounts.rights.services import closure_eraser_register

        from .export import account_exports_erase

        # Closing an account deletes its data exports from storage.
        closure_eraser_register(account_exports_erase)
