"""A short run of the load test (`bench/load.py`, which `make load` runs for 5 minutes): real
gunicorn, Celery worker, PostgreSQL and Redis, simulated learners, reviewers, officers and
anonymous visitors; no server error, and the ledger and application invariants hold."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.load import template_name
from tests import migrated
from tests.processes import subprocess_env

ROOT = Path(settings.BASE_DIR)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_short_load_run_answers_without_server_errors_and_keeps_the_invariants(
    postgres, redis_url, migrated_template, tmp_path
):
    results = tmp_path / "load.json"
    name = f"{connection.settings_dict['NAME']}_loadrun".removeprefix("test_")
    # The run keeps a migrated template beside its scratch database, as `make load` does; here
    # that template is a copy of the suite's freshly migrated database (tests/migrated.py), so
    # the run's own path (stale templates dropped, the template's migrations checked, its
    # connections ended, the copy) is taken without a migration run from nothing.
    if migrated_template:
        migrated.copy(migrated_template, template_name(name))
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--users",
            "6",
            "--duration",
            "10",
            "--workers",
            "2",
            "--database",
            name,
            # A Redis database of its own: the run flushes it first.
            "--redis-url",
            redis_url.rsplit("/", 1)[0] + "/14",
            "--json",
            str(results),
        ],
        cwd=ROOT,
        env=subprocess_env(PYTHONPATH=str(ROOT), DATABASE_URL=os.environ["DATABASE_URL"]),
        capture_output=True,
        text=True,
        timeout=280,
    )

    output = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    if migrated_template:
        assert "migrating the template database" not in run.stdout, output
    result = json.loads(results.read_text())
    assert result["summary"]["server_errors"] == 0, output
    assert {check: cases for check, cases in result["invariants"]["checks"].items() if cases} == {}
    done = result["summary"]["by_kind"]
    for kind in ("learner: add result with evidence", "reviewer: centre queue", "sign in"):
        assert done[kind]["requests"] > 0, output
    assert result["invariants"]["facts"]["applications"] > 0
