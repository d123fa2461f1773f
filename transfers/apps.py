from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Credit transfer")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import Institution
        from accounts.services import closure_eraser_register, closure_withdrawal_register
        from accreditation.catalogue import catalogue_revision_bump, conversion_provider_register
        from accreditation.services import revocation_listener_register
        from common.idempotency import idempotency_register

        from .closure import CLOSURE_WITHDRAWAL, account_transfers_erase
        from .idempotency import idempotent
        from .models import ConversionRule, Course, Programme
        from .rules import catalogue_conversions_provide
        from .services import transfers_on_revocation

        # The catalogue (a layer below) shows which courses each entry counts for.
        conversion_provider_register(catalogue_conversions_provide)
        # What it shows of them (the rule, its course, programme and institution) is cached
        # with the catalogue's search results under the catalogue's revision: every write to
        # them raises it in its own transaction.
        for model in (ConversionRule, Course, Programme, Institution):
            post_save.connect(catalogue_revision_bump, sender=model, dispatch_uid=f"rev-{model}")
            post_delete.connect(catalogue_revision_bump, sender=model, dispatch_uid=f"rv-{model}")
        # A revoked accreditation withdraws or flags the transfers resting on it.
        revocation_listener_register(transfers_on_revocation)
        # Closing an account (accounts, a layer below) withdraws its transfers still waiting
        # for a decision and removes their free text.
        closure_withdrawal_register(CLOSURE_WITHDRAWAL)
        closure_eraser_register(account_transfers_erase)
        # Every app's creating POSTs keep their Idempotency-Keys here.
        idempotency_register(idempotent)
