"""``make bench-quick`` runs end to end, so that the benchmarks (bench/) do not rot.

The figures themselves are not asserted (they depend on the machine; see bench/README.md): only
that every benchmark ran, wrote its results, and measured real answers, not errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

from tests.processes import require, subprocess_env

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.slow
def test_the_quick_benchmarks_run_end_to_end_and_write_every_result(
    postgres, redis_url, migrated_template, tmp_path
):
    require(shutil.which("wrk") is not None, "needs wrk (apt-get install -y wrk)")
    require(shutil.which("pgbench") is not None, "needs pgbench (PostgreSQL client)")

    # Its scratch database is a copy of the suite's freshly migrated one (tests/migrated.py),
    # not migrated again from nothing.
    template = ["--template", migrated_template] if migrated_template else []
    result = subprocess.run(
        [sys.executable, "-m", "bench", "quick", "--results", str(tmp_path), *template],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    written = sorted(path.name for path in tmp_path.glob("*.json"))
    assert written == [
        "certificate_pdfs.json",
        "collective_import.json",
        "http_200.json",
        "seed_200.json",
        "sweep_200.json",
        "transfers.json",
        "whatif_200.json",
    ]
    figures = {path.stem: json.loads(path.read_text()) for path in tmp_path.glob("*.json")}
    assert figures["seed_200"]["accounts"] == 200
    assert figures["seed_200"]["orphans"] == dict.fromkeys(figures["seed_200"]["orphans"], 0)
    http = figures["http_200"]
    assert http["endpoints_with_errors"] == []
    assert set(http["endpoints"]) == {
        "floor",
        "floor_again",
        "dashboard",
        "accounts_me",
        "file",
        "queue",
        "catalogue",
        "verify",
    }
    for row in http["endpoints"].values():
        assert row["requests"] > 0
        assert row["p50_us"] <= row["p95_us"] <= row["p99_us"]
        assert row["ratio_to_floor"] > 0
    whatif = figures["whatif_200"]
    assert whatif["programmes"] == 200
    assert whatif["learners"] > 0
    # The same queries for every learner, whatever their outcomes.
    assert whatif["queries_min"] == whatif["queries_max"]
    sweep = figures["sweep_200"]
    assert sweep["open_applications"] >= 200
    assert sweep["reminded"] + sweep["escalated"] > 0
    assert (sweep["second_sweep_reminded"], sweep["second_sweep_escalated"]) == (0, 0)
    imported = figures["collective_import"]
    assert imported["accounts_opened"] == imported["rows"] == 100
    pdfs = figures["certificate_pdfs"]
    assert pdfs["pdfs"] == 2
    assert pdfs["mean_pdf_bytes"] > 1000
    transfers = figures["transfers"]
    assert transfers["transfers"] == 2 * 4
    assert transfers["pgbench"]["tps"] > 0
    assert transfers["ratio_to_pgbench"] > 0
    # The table is printed as it goes.
    assert "req/s" in result.stdout


def test_the_floor_view_is_not_routed_unless_the_benchmark_asks_for_it():
    # Only the benchmark's own gunicorn runs with CREDITBANK_BENCH_FLOOR=1.
    with pytest.raises(Resolver404):
        resolve("/bench/floor/")
