"""Application events partitioned by year of their time (PostgreSQL; common/partitions.py,
ADR 0024). The rows, indexes, foreign keys and the id sequence are kept; Django's model is
unchanged (its primary key stays ``id``)."""

from django.db import migrations
from django.utils import timezone

from common.partitions import table_partition


def forwards(apps, schema_editor):
    table_partition(
        schema_editor,
        table="accreditation_applicationevent",
        column="occurred_at",
        last_year=timezone.localdate().year + 1,
    )


class Migration(migrations.Migration):
    dependencies = [("accreditation", "0006_recognition")]

    # Backwards: the partitioned table serves the earlier schema as it is.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
