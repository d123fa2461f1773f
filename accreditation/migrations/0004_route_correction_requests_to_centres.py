"""Route the correction requests made before requests named their centre: to the centre that
decided the record, else the learner's own centre (the one that opened the account, else that
of their latest application, else of their latest visit), as ``correction_centre_of`` does."""

from django.db import migrations

DECIDED = ["accredited", "rejected"]


def route(apps, schema_editor):
    CorrectionRequest = apps.get_model("accounts", "CorrectionRequest")
    CentreVisit = apps.get_model("accounts", "CentreVisit")
    Application = apps.get_model("accreditation", "Application")
    latest = ("-submitted_at", "-id")
    for request in CorrectionRequest.objects.filter(centre__isnull=True).select_related(
        "account"
    ):
        centre_id = None
        if request.record_kind == "outcome":
            centre_id = (
                Application.objects.filter(outcome_id=request.record_id, state__in=DECIDED)
                .order_by(*latest)
                .values_list("centre_id", flat=True)
                .first()
            )
        if centre_id is None:
            centre_id = request.account.opened_at_centre_id
        if centre_id is None:
            centre_id = (
                Application.objects.filter(account_id=request.account_id)
                .exclude(state="withdrawn")
                .order_by(*latest)
                .values_list("centre_id", flat=True)
                .first()
            )
        if centre_id is None:
            centre_id = (
                CentreVisit.objects.filter(account_id=request.account_id)
                .order_by("-booked_at", "-id")
                .values_list("centre_id", flat=True)
                .first()
            )
        if centre_id is not None:
            CorrectionRequest.objects.filter(pk=request.pk).update(centre_id=centre_id)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0021_reveal_references_and_correction_centres"),
        ("accreditation", "0003_revocations"),
    ]

    operations = [migrations.RunPython(route, migrations.RunPython.noop)]
