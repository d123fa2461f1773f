"""The environment every benchmark process runs with: fixed keys, so that data seeded once is
read by the production-settings server exactly as the portal would read its own.

These keys protect scratch data on the benchmark's own database only; they are not secrets and
must never be used for a real deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

VAR_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"

BENCH_KEYS = {
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-any-deployment-5b1d2c7e9a",
    "IDENTITY_ENCRYPTION_KEYS": "DypcqxuAjQD60OOjjl1t0HALWKt8r5rL_KMaU-VYw8U=",
    "IDENTITY_INDEX_KEY": "bench-only-identity-index-key",
    "CERTIFICATE_SIGNING_KEY": "/2Lav1EVhsHoT0LPatyzTw+dDsAsbHZNYRP0Cj+hxko=",
}


def database_url(name: str) -> str:
    """The URL of database ``name`` on the server DATABASE_URL points at."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return base.rsplit("/", 1)[0] + "/" + name


def bench_env(*, database: str, production: bool = False, **extra: str) -> dict[str, str]:
    # Byte code is cached: otherwise every process (gunicorn workers, the jobs) compiles the
    # whole of Django and the portal on start, seconds that are no part of what is measured.
    dropped = {"DJANGO_ALLOW_ASYNC_UNSAFE", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(BENCH_KEYS)
    env["DATABASE_URL"] = database_url(database)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env["DJANGO_SETTINGS_MODULE"] = "creditbank.settings"
    # Static files, media and certificates of the benchmarks stay apart from the developer's.
    env["VAR_DIR"] = str(VAR_DIR)
    if production:
        env.update(
            DJANGO_ENV="production",
            DJANGO_DEBUG="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            PORTAL_URL="http://127.0.0.1",
            LOG_LEVEL="WARNING",
        )
    env.update(extra)
    return env


_prepared: set[str] = set()
_preparing = threading.Lock()


def production_prepare(env: dict[str, str]) -> None:
    """What the production settings read from disk, made once per run: the hashed static
    files of the manifest ``collectstatic`` writes and the compiled translations (the two
    commands at once: they write different files). Safe to call from several threads: the
    second waits for the first (:func:`production_prepare_start`)."""
    with _preparing:
        if env["DATABASE_URL"] in _prepared:
            return
        root = Path(__file__).resolve().parent.parent
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for command in (["collectstatic", "--noinput", "-v0"], ["compile_translations"])
        ]
        for process in processes:
            if process.wait() != 0:
                raise subprocess.CalledProcessError(process.returncode, process.args)
        _prepared.add(env["DATABASE_URL"])


def production_prepare_start(env: dict[str, str]) -> threading.Thread:
    """:func:`production_prepare` in the background (it only waits on its processes), so that
    it runs while the database is seeded; whoever needs it next waits for it there."""
    thread = threading.Thread(target=production_prepare, args=(env,), daemon=True)
    thread.start()
    return thread


def pdf_signing_env() -> dict[str, str]:
    """Production settings refuse to make a PDF signing certificate of their own: the
    benchmark's (a local CA and a certificate it issued, scratch like the keys above) is made
    once by a development-settings process under ``var/bench/pdf-signing`` and named to the
    production-settings job as a configured one is."""
    directory = VAR_DIR / "pdf-signing"
    if not (directory / "signer.key").exists():
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from transfers.certificates.pades import trust_roots; trust_roots()",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            env=bench_env(database="postgres"),
            check=True,
        )
    return {
        "CERTIFICATE_PDF_SIGNING_KEY_FILE": str(directory / "signer.key"),
        "CERTIFICATE_PDF_SIGNING_CERTS_FILE": os.pathsep.join(
            [str(directory / "signer.pem"), str(directory / "ca.pem")]
        ),
    }
