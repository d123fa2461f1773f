from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Credit transfer")

    def ready(self) -> None:
        from accreditation.catalogue import conversion_provider_register

        from .rules import catalogue_conversions_provide

        # The catalogue (a layer below) shows which courses each entry counts for.
        conversion_provider_register(catalogue_conversions_provide)
