"""``python -m bench table``: the latest results (bench/results/*.json) as the Markdown tables
of bench/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .web import TARGETS

ENDPOINTS = ["floor", "dashboard", "accounts_me", "file", "queue", "catalogue", "verify"]
P95_GROWTH_LIMIT = 1.5


def _load(results: Path) -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("*.json"))}


def _yes(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**missed**")


def table(results: Path) -> str:
    figures = _load(results)
    lines: list[str] = []
    http = sorted(
        (v for k, v in figures.items() if k.startswith("http_")), key=lambda v: v["accounts"]
    )
    if http:
        small, large = http[0], http[-1]
        lines += [
            "| endpoint | accounts | req/s | p50 ms | p95 ms | p99 ms | ratio to floor "
            "| target ratio | p95 growth | |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name in ENDPOINTS:
            for run in http:
                row = run["endpoints"].get(name)
                if row is None:
                    continue
                growth = ""
                verdicts = []
                if name in TARGETS:
                    verdicts.append(_yes(row["ratio_to_floor"] >= TARGETS[name]))
                if run is large and large is not small and name in small["endpoints"]:
                    ratio = row["p95_us"] / small["endpoints"][name]["p95_us"]
                    growth = f"{ratio:.2f}x"
                    if name != "floor":
                        verdicts.append("p95 " + _yes(ratio <= P95_GROWTH_LIMIT))
                lines.append(
                    f"| {name} | {run['accounts']:,} | {row['rps']:.1f} | "
                    f"{row['p50_us'] / 1000:.1f} | {row['p95_us'] / 1000:.1f} | "
                    f"{row['p99_us'] / 1000:.1f} | {row['ratio_to_floor']:.3f} | "
                    f"{TARGETS.get(name, '')} | {growth} | {', '.join(verdicts)} |"
                )
        lines.append("")
    rows: list[str] = []
    for key, v in figures.items():
        if key.startswith("seed_"):
            rows.append(
                f"| seeding {v['accounts']:,} accounts | {v['rows']:,} rows in "
                f"{v['load_seconds']} s = **{v['rows_per_second']:,} rows/s** "
                f"(ANALYZE {v['analyze_seconds']} s) | in minutes | "
                f"{_yes(v['load_seconds'] < 3600)} |"
            )
        elif key.startswith("sweep_"):
            rows.append(
                f"| deadline sweep, {v['open_applications']:,} open applications | "
                f"**{v['first_sweep_seconds']} s**, {v['reminded']:,} reminded + "
                f"{v['escalated']:,} escalated, {v['notices_sent']:,} notices; second sweep "
                f"{v['second_sweep_reminded'] + v['second_sweep_escalated']} in "
                f"{v['second_sweep_seconds']} s | < 60 s, second sends 0 | "
                f"{_yes(v['target_met'])} |"
            )
        elif key.startswith("whatif_"):
            rows.append(
                f"| what-if, {v['programmes']} programmes at {v['accounts']:,} accounts | "
                f"{v['queries_max']} queries, **{v['cpu_ms_median']} ms CPU** median of "
                f"{v['learners']} learners (max {v['cpu_ms_max']} ms) | same queries for each "
                f"| {_yes(v['queries_min'] == v['queries_max'])} |"
            )
    for key in ("collective_import", "collective_import_large"):
        if key not in figures:
            continue
        v = figures[key]
        rows.append(
            f"| collective import, {v['rows']:,} CSV rows ({v['file_mb']} MB) | "
            f"**{v['rows_per_second']:,} rows/s** ({v['seconds']} s), peak RSS "
            f"**{v['peak_rss_mb']} MB** (before: {v['rss_before_import_mb']} MB) | "
            f"≥ 3,000 rows/s, < 300 MB | {_yes(v['target_met'])} |"
        )
    if "certificate_pdfs" in figures:
        v = figures["certificate_pdfs"]
        rows.append(
            f"| certificate PDFs, one process | **{v['pdfs_per_second']} PDFs/s** ({v['pdfs']} "
            f"in {v['seconds']} s), mean {v['mean_pdf_bytes']:,} bytes | ≥ 10/s | "
            f"{_yes(v['target_met'])} |"
        )
    if "transfers" in figures:
        v = figures["transfers"]
        rows.append(
            f"| concurrent transfers, {v['clients']} clients | {v['transfers_per_second']}/s "
            f"beside pgbench {v['pgbench']['tps']:.0f} tps = **{v['ratio_to_pgbench']}** | "
            f"≥ 0.25 | {_yes(v['target_met'])} |"
        )
    if rows:
        lines += ["| benchmark | figure | target | |", "|---|---|---|---|", *rows]
    return "\n".join(lines)
