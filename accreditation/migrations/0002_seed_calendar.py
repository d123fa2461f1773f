"""Seed the working-day calendar (2020-2026) from the chinesecalendar package, so that every
database, production included, counts deadlines on the official arrangement from the start.

Later years: ``python manage.py calendar_load`` after upgrading the package, or the management
admin enters the State Council's notice in the admin site.
"""

from django.db import migrations

SEEDED_YEARS = range(2020, 2027)


def seed(apps, schema_editor):
    from accreditation.calendar import PACKAGE_FIRST_YEAR, PACKAGE_LAST_YEAR, package_years_load

    years = [year for year in SEEDED_YEARS if PACKAGE_FIRST_YEAR <= year <= PACKAGE_LAST_YEAR]
    package_years_load(
        apps.get_model("accreditation", "CalendarYear"),
        apps.get_model("accreditation", "CalendarDay"),
        years,
    )


def unseed(apps, schema_editor):
    from accreditation.calendar import PACKAGE_SOURCE_PREFIX

    CalendarYear = apps.get_model("accreditation", "CalendarYear")
    CalendarYear.objects.filter(
        year__in=SEEDED_YEARS, source__startswith=PACKAGE_SOURCE_PREFIX
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accreditation", "0001_applications_catalogue_calendar"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
