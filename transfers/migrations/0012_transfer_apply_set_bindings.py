"""transfer_apply_set() leaves a course bound by a pre-assessment (ADR 0024) to the Python path
of transfers.services.transfer_apply, which makes its item under the bound rule version: the
function knows only the rules in effect. The function is 0007's with one check added."""

import importlib

from django.db import migrations

_0007 = importlib.import_module("transfers.migrations.0007_transfer_apply_set")

LOCKS = (
    "    PERFORM 1 FROM outcomes_learningoutcome WHERE id = ANY(p_outcomes) ORDER BY id FOR UPDATE;\n"
)
BINDING = """
    -- A yes to a pre-assessment still binding for one of these courses: the Python path makes
    -- its item under the rule version the yes bound (read after the account lock, which an
    -- answer takes too).
    PERFORM 1 FROM transfers_preassessment
        WHERE account_id = p_account AND course_id = ANY(p_courses)
          AND state = 'yes' AND valid_until >= p_today;
    IF FOUND THEN
        RETURN NULL;
    END IF;
"""
assert LOCKS in _0007.FUNCTION
FUNCTION = _0007.FUNCTION.replace(LOCKS, LOCKS + BINDING)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0007.FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("transfers", "0011_preassessments")]

    operations = [migrations.RunPython(create, restore)]
