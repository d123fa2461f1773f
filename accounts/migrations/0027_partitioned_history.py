"""Business transactions and staff accesses partitioned by year of their time (PostgreSQL;
common/partitions.py, ADR 0024). The rows, indexes, foreign keys and the id sequence are kept;
Django's model is unchanged (its primary key stays ``id``)."""

from django.db import migrations
from django.utils import timezone

from common.partitions import table_partition

TABLES = (("accounts_businesstransaction", "occurred_at"), ("accounts_staffaccess", "occurred_at"))


def forwards(apps, schema_editor):
    last_year = timezone.localdate().year + 1
    for table, column in TABLES:
        table_partition(schema_editor, table=table, column=column, last_year=last_year)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0026_service_accounts")]

    # Backwards: the partitioned tables serve the earlier schema as they are.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
