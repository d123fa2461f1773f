from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Credit transfer")

    def ready(self) -> None:
        from accounts.services import closure_eraser_register, closure_withdrawal_register
        from accreditation.catalogue import conversion_provider_register
        from accreditation.services import revocation_listener_register
        from common.idempotency import idempotency_register

        from .closure import CLOSURE_WITHDRAWAL, account_transfers_erase
        from .idempotency import idempotent
        from .rules import catalogue_conversions_provide
        from .services import transfers_on_revocation

        # The catalogue (a layer below) shows which courses each entry counts for.
        conversion_provider_register(catalogue_conversions_provide)
        # A revoked accreditation withdraws or flags the transfers resting on it.
        revocation_listener_register(transfers_on_revocation)
        # Closing an account (accounts, a layer below) withdraws its transfers still waiting
        # for a decision and removes their free text.
        closure_withdrawal_register(CLOSURE_WITHDRAWAL)
        closure_eraser_register(account_transfers_erase)
        # Every app's creating POSTs keep their Idempotency-Keys here.
        idempotency_register(idempotent)
