from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditbankConfig(AppConfig):
    name = "creditbank"
    verbose_name = _("Portal")
