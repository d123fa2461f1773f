import os
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Compile the .po translation catalogues to .mo files in pure Python, so that a fresh "
        "machine needs no GNU gettext to run the portal."
    )

    def handle(self, *args: object, **options: object) -> None:
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                catalogue = polib.pofile(str(po_path))
                # Written beside it and renamed over it: a process starting meanwhile (the
                # benchmarks compile while they seed) reads the old file or the new, never half.
                handle, partial = tempfile.mkstemp(
                    dir=mo_path.parent, prefix=f".{mo_path.name}.", suffix=".tmp"
                )
                os.close(handle)
                try:
                    catalogue.save_as_mofile(partial)
                    os.replace(partial, mo_path)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
                if int(str(options.get("verbosity", 1))) < 1:
                    continue
                self.stdout.write(
                    f"{po_path.relative_to(settings.BASE_DIR)}: "
                    f"{len(catalogue.translated_entries())} messages, "
                    f"{catalogue.percent_translated()}% translated"
                )
