"""Test-only: a worker started with ``--include tests.creditbank.slow_export`` builds each data
export slowly. Once the export is running (its state saved), the build waits for the file named
by ``SLOW_EXPORT_GATE`` to appear (at most two minutes), then goes on as usual. The test opens
the gate when it has seen what it wanted while the export was still running."""

import os
import time
from pathlib import Path

from creditbank import export

GATE = Path(os.environ["SLOW_EXPORT_GATE"])
_evidence_files_of = export.evidence_files_of


def evidence_files_of_behind_the_gate(**kwargs):
    deadline = time.monotonic() + 120
    while not GATE.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return _evidence_files_of(**kwargs)


export.evidence_files_of = evidence_files_of_behind_the_gate
