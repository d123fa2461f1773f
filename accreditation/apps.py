from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccreditationConfig(AppConfig):
    name = "accreditation"
    verbose_name = _("Accreditation")

    def ready(self) -> None:
        from outcomes.hooks import certificate_number_check_register

        from .catalogue import certificate_number_check

        # A learner who saves an outcome hears at once that its certificate number does not
        # have the format of the catalogue entry it names.
        certificate_number_check_register(certificate_number_check)
