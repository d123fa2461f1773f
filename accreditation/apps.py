from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccreditationConfig(AppConfig):
    name = "accreditation"
    verbose_name = _("Accreditation")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import RevealReason
        from accounts.services import (
            closure_eraser_register,
            closure_withdrawal_register,
            correction_router_register,
            reveal_reference_register,
        )
        from outcomes.hooks import certificate_number_check_register, evidence_staff_check_register

        from .access import application_reveal_check, correction_router, evidence_staff_check
        from .catalogue import catalogue_revision_bump, certificate_number_check
        from .closure import CLOSURE_WITHDRAWAL, account_applications_erase
        from .models import CatalogueEntry, CatalogueEntryVersion

        # A learner who saves an outcome hears at once that its certificate number does not
        # have the format of the catalogue entry it names.
        certificate_number_check_register(certificate_number_check)
        # Staff open an outcome's evidence only for their centre's application of it.
        evidence_staff_check_register(evidence_staff_check)
        # An identity reveal may refer to an application under review at the centre.
        reveal_reference_register(RevealReason.APPLICATION_REVIEW, application_reveal_check)
        # A correction of a decided outcome goes to the centre that decided it.
        correction_router_register(correction_router)
        # Closing an account (accounts, a layer below) withdraws its open applications and
        # removes their free text.
        closure_withdrawal_register(CLOSURE_WITHDRAWAL)
        closure_eraser_register(account_applications_erase)
        # Every catalogue write raises the catalogue's revision in its own transaction: cached
        # matches of learners' outcomes carry it in their keys.
        for model in (CatalogueEntry, CatalogueEntryVersion):
            post_save.connect(catalogue_revision_bump, sender=model, dispatch_uid=f"rev-{model}")
            post_delete.connect(catalogue_revision_bump, sender=model, dispatch_uid=f"rv-{model}")
