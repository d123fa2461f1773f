from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Credit transfer")

    def ready(self) -> None:
        from accreditation.catalogue import conversion_provider_register
        from accreditation.services import revocation_listener_register

        from .rules import catalogue_conversions_provide
        from .services import transfers_on_revocation

        # The catalogue (a layer below) shows which courses each entry counts for.
        conversion_provider_register(catalogue_conversions_provide)
        # A revoked accreditation withdraws or flags the transfers resting on it.
        revocation_listener_register(transfers_on_revocation)
