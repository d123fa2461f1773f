"""PostgreSQL itself refuses UPDATE and DELETE on the ledger: a correction is a reversing entry.

The ORM refuses them too (``AppendOnlyModel``), but a trigger also stops raw SQL, a data fix
typed into psql, or a bug in code that bypasses the model. SQLite (local runs) has only the ORM
guard.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION creditbank_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% on %: rows are append-only; book a reversing entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON accounts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION creditbank_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_append_only ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS creditbank_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_notifications_ledger_cause_once")]

    operations = [migrations.RunPython(forwards, backwards)]
