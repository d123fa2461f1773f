"""The one settings module of the portal.

Every knob comes from the environment with a safe local default, so the same code runs on a
laptop (SQLite, an embedded file-system broker, local file storage) and in production
(PostgreSQL, Redis, S3-compatible storage) with nothing but other variables. The variables are
listed in README.md.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the running portal writes locally (SQLite file, uploads, broker queue, beat
# schedule) lives under one ignored folder.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def development_portal_url(host: str, port: str) -> str:
    """The address a development server listening on ``host``:``port`` is reached at (the
    Makefile's defaults: 127.0.0.1 and 8000); a server on every interface is reached locally."""
    host = host.strip() or "127.0.0.1"
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - a name to compare with, nothing is bound  # nosec B104
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port.strip() or '8000'}"


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Environment -------------------------------------------------------------------------------

ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must not be on in production.")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required in production.")
    # Only ever used on a developer's machine; production refuses to start without a key.
    SECRET_KEY = "development-only-key-never-used-in-production-8c1f0e6b2d"  # noqa: S105  # nosec B105

# Identity numbers are encrypted at rest (Fernet; several keys, newest first, allow rotation) and
# found through a keyed blind index (HMAC-SHA256), so the database never holds them in clear.
IDENTITY_ENCRYPTION_KEYS = env_list("IDENTITY_ENCRYPTION_KEYS", [])
IDENTITY_INDEX_KEY = os.environ.get("IDENTITY_INDEX_KEY", "")
if PRODUCTION and not (IDENTITY_ENCRYPTION_KEYS and IDENTITY_INDEX_KEY):
    raise ImproperlyConfigured(
        "IDENTITY_ENCRYPTION_KEYS and IDENTITY_INDEX_KEY are required in production."
    )

# Certificates are signed with Ed25519 (transfers.certificates): the base64 of the raw 32-byte
# private key. In development, when unset, a key is generated once and kept in VAR_DIR. Public
# keys of retired signing keys (base64 raw or PEM, comma-separated) keep older certificates
# verifiable after a rotation.
CERTIFICATE_SIGNING_KEY = os.environ.get("CERTIFICATE_SIGNING_KEY", "")
CERTIFICATE_SIGNING_KEY_FILE = VAR_DIR / "certificate-signing.key"
CERTIFICATE_RETIRED_PUBLIC_KEYS = env_list("CERTIFICATE_RETIRED_PUBLIC_KEYS", [])
if PRODUCTION and not CERTIFICATE_SIGNING_KEY:
    raise ImproperlyConfigured("CERTIFICATE_SIGNING_KEY is required in production.")

# The certificate PDFs carry a PAdES signature (transfers/certificates/pades.py) made with the
# bank's signing certificate: a private key and its certificate chain (PEM or DER files, the
# signer's certificate first), or one PKCS#12 file and its password. The PDF signature is
# trusted through CERTIFICATE_PDF_TRUST_ROOTS (PEM file of the bank's CA; default: the
# self-signed certificates of the chain). In development, when none is set, a local CA and a
# signing certificate are made once and kept in CERTIFICATE_PDF_DEV_DIR. See
# docs/configuration.md and docs/decisions/0010-pdf-signatures.md.
CERTIFICATE_PDF_SIGNING_KEY_FILE = os.environ.get("CERTIFICATE_PDF_SIGNING_KEY_FILE", "")
CERTIFICATE_PDF_SIGNING_CERTS_FILE = os.environ.get("CERTIFICATE_PDF_SIGNING_CERTS_FILE", "")
CERTIFICATE_PDF_PKCS12_FILE = os.environ.get("CERTIFICATE_PDF_PKCS12_FILE", "")
CERTIFICATE_PDF_PKCS12_PASSWORD = os.environ.get("CERTIFICATE_PDF_PKCS12_PASSWORD", "")
CERTIFICATE_PDF_TRUST_ROOTS = os.environ.get("CERTIFICATE_PDF_TRUST_ROOTS", "")
CERTIFICATE_PDF_DEV_DIR = VAR_DIR / "pdf-signing"

# The issuer printed on certificates: the bank's names, seal (a static file), address and
# contact. The defaults are the demo's.
BANK_NAME_ZH = os.environ.get("BANK_NAME_ZH", "终身学习学分银行")
BANK_NAME_EN = os.environ.get("BANK_NAME_EN", "Credit Bank for Lifelong Learning")
BANK_SEAL_IMAGE = os.environ.get("BANK_SEAL_IMAGE", "img/bank-seal.png")
BANK_ADDRESS = os.environ.get("BANK_ADDRESS", "学分银行路 1 号 · 1 Credit Bank Road")
BANK_CONTACT = os.environ.get("BANK_CONTACT", "+86 400 000 0000 · service@creditbank.example")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS",
    [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- Applications ------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "oauth2_provider",
    # Domain apps, bottom layer first: an app imports only the apps listed above it.
    "accounts",
    "outcomes",
    "accreditation",
    "transfers",
    "creditbank",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "creditbank.middleware.ContentSecurityPolicyMiddleware",
    "creditbank.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # With read replicas only: a visitor who just wrote reads the primary for a few seconds.
    "common.replicas.ReplicaPinMiddleware",
    # Outside authentication, so that it sees the user the inner layers (and DRF) signed in.
    "creditbank.middleware.NoStoreMiddleware",
    "creditbank.middleware.LanguageMiddleware",
    "creditbank.middleware.NulCharacterMiddleware",
    "creditbank.middleware.ServiceUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.signin.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Writes one row per API call made with a service account's token (after the answer).
    "accounts.serviceaccounts.middleware.ServiceCallLogMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "creditbank.urls"
WSGI_APPLICATION = "creditbank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "creditbank.context_processors.portal",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "")


def database_from_url(url: str, connect_timeout: int) -> dict[str, Any]:
    db: dict[str, Any] = dict(
        dj_database_url.parse(
            url,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            # A health check is a round trip of its own before each request's first query
            # (bench/README.md: "Per-request floor"); see docs/configuration.md.
            conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
        )
    )
    if db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", False):
        # Django's own pool (psycopg 3). Persistent connections and the pool exclude each other.
        db["CONN_MAX_AGE"] = 0
        db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 10),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
    if db["ENGINE"] == "django.db.backends.postgresql":
        db.setdefault("OPTIONS", {})["connect_timeout"] = connect_timeout
    if db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_PGBOUNCER", False):
        # Behind PgBouncer in transaction mode each transaction (each statement in autocommit)
        # may run on another server connection, so nothing may outlive one (ADR 0029):
        # .iterator() would declare a server-side cursor WITH HOLD in autocommit, and
        # psycopg's prepared statements (PgBouncer < 1.21 does not track them) would be
        # missing on the next server. Django already leaves prepare_threshold at None; said
        # here so that no OPTIONS change turns it on behind the pooler.
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
        db.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return db


if DATABASE_URL:
    _db = database_from_url(DATABASE_URL, env_int("DATABASE_CONNECT_TIMEOUT", 5))
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "db.sqlite3"),
        "OPTIONS": {
            # Web server, worker and beat share the file: WAL lets readers run beside a writer,
            # IMMEDIATE makes a writer wait for the lock instead of failing mid-transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # A file (not memory) so that tests can start a real worker on the same database.
        "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
    }
DATABASES = {"default": _db}

# Read replicas (common/replicas.py, docs/decisions/0026-read-replicas.md): the reads that may
# be slightly stale (public catalogue, verification, lists) go to one of these PostgreSQL hot
# standbys, unless the visitor wrote in the last REPLICA_PIN_SECONDS, a transaction is open, or
# the standby is unreachable or more than REPLICA_MAX_LAG_SECONDS behind (its lag is sampled
# at most every REPLICA_LAG_SAMPLE_SECONDS per process; one that failed is left alone for
# REPLICA_RETRY_SECONDS). Without them nothing is routed. In tests they mirror the primary.
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", [])
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _alias = f"replica_{_number}"
    _replica = database_from_url(_url, env_int("REPLICA_CONNECT_TIMEOUT", 2))
    if "pool" in _replica.get("OPTIONS", {}):
        # A replica that is down must not hold a request for the primary's pool timeout.
        _replica["OPTIONS"]["pool"]["timeout"] = env_int("REPLICA_CONNECT_TIMEOUT", 2)
    DATABASES[_alias] = {**_replica, "TEST": {"MIRROR": "default"}}
    DATABASE_REPLICAS.append(_alias)
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["common.replicas.ReplicaRouter"]
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 10)
REPLICA_LAG_SAMPLE_SECONDS = env_int("REPLICA_LAG_SAMPLE_SECONDS", 2)
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    # Throttle and lockout counters must be shared by every web process, and the embedded
    # broker is for one machine only.
    raise ImproperlyConfigured("REDIS_URL is required in production.")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one Redis client per process instead of one per call.
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS_URL),
            "KEY_PREFIX": "creditbank",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A task not acknowledged within this time is delivered again (acks_late below).
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # A Redis host that does not answer (rather than refusing) holds a connection attempt
        # for this long, not for the system's TCP timeout of minutes.
        "socket_connect_timeout": env_int("CELERY_BROKER_CONNECT_TIMEOUT", 5),
    }
else:
    # The embedded broker: kombu's file-system transport needs no server, yet the web server,
    # worker and beat are separate processes exchanging real messages through it.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = "file://" + str(VAR_DIR / "results")
# Queues per kind of work (ADR 0025): a slow export or a burst of certificates never holds up a
# reminder or an SMS code. Each queue has workers of its own in docker-compose.yml; a worker
# started without -Q (`make run`, the tests) takes every queue declared here. The default queue
# keeps Celery's own name, so a message sent by a client that routes nothing, or left in it
# by an earlier release, still finds a worker.
CELERY_TASK_DEFAULT_QUEUE = "celery"
TASK_QUEUE_NAMES = (
    "celery",
    "notifications",
    "deadlines",
    "certificates",
    "exports",
    "imports",
    "webhooks",
)
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in TASK_QUEUE_NAMES
)
# Every task by name; tests/creditbank/test_queues.py fails while a task has no entry here.
CELERY_TASK_ROUTES = {
    name: {"queue": queue}
    for queue, names in {
        # What a person waits for now: a code, a link, a notice.
        "notifications": (
            "accounts.tasks.send_sms_code",
            "accounts.tasks.send_password_setup_email",
            "accounts.tasks.send_password_reset_email",
            "accounts.tasks.send_notification_emails",
            "accounts.tasks.resend_lost_notification_emails",
        ),
        # The 15-working-day clock: reminders and escalations, and what moves due dates.
        "deadlines": (
            "accreditation.tasks.deadline_sweep_task",
            "accreditation.tasks.calendar_load_task",
            "accreditation.tasks.calendar_unpublished_notify_task",
            "transfers.tasks.preassessment_sweep_task",
        ),
        # CPU-bound: render, sign and store PDFs.
        "certificates": (
            "transfers.tasks.render_certificate",
            "transfers.tasks.resend_stale_certificate_requests",
        ),
        # Long: a learner's whole data as a ZIP.
        "exports": (
            "creditbank.tasks.build_data_export",
            "creditbank.tasks.resend_stale_data_exports",
            "creditbank.tasks.purge_expired_data_exports",
        ),
        # Institutions' systems answer slowly or not at all: their retries wait here.
        "webhooks": (
            "accounts.tasks.deliver_webhook",
            "accounts.tasks.resend_due_webhooks",
        ),
        # Housekeeping, fan-outs and reads of other banks that nobody waits for.
        "celery": (
            "creditbank.tasks.ping",
            "accounts.tasks.purge_expired_tokens",
            "accounts.tasks.close_due_accounts",
            "accreditation.tasks.catalogue_match_notify_task",
            "transfers.tasks.purge_expired_idempotency_keys",
            "transfers.tasks.check_recognised_decisions",
            "creditbank.tasks.partitions_ahead_task",
            # Celery's own (the result backend's cleanup, chords).
            "celery.*",
        ),
    }.items()
    for name in names
}
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-expired-api-tokens": {
        "task": "accounts.tasks.purge_expired_tokens",
        "schedule": float(env_int("TOKEN_PURGE_INTERVAL_SECONDS", 3600)),
    },
    # Reminders before the due date and escalations after it, each sent once.
    "deadline-sweep": {
        "task": "accreditation.tasks.deadline_sweep_task",
        "schedule": float(env_int("DEADLINE_SWEEP_INTERVAL_SECONDS", 15 * 60)),
    },
    # The same for the pre-assessments institutions answer (transfers, ADR 0028).
    "preassessment-sweep": {
        "task": "transfers.tasks.preassessment_sweep_task",
        "schedule": float(env_int("DEADLINE_SWEEP_INTERVAL_SECONDS", 15 * 60)),
    },
    # A newer chinesecalendar package's years are published as the calendar page publishes.
    "calendar-load": {
        "task": "accreditation.tasks.calendar_load_task",
        "schedule": float(env_int("CALENDAR_LOAD_INTERVAL_SECONDS", 24 * 3600)),
    },
    # Accounts whose closure confirmation period has ended are closed (accounts.rights).
    "close-due-accounts": {
        "task": "accounts.tasks.close_due_accounts",
        "schedule": float(env_int("ACCOUNT_CLOSURE_SWEEP_INTERVAL_SECONDS", 3600)),
    },
    # Data export ZIPs are deleted from storage once their 24-hour link has expired.
    "purge-expired-data-exports": {
        "task": "creditbank.tasks.purge_expired_data_exports",
        "schedule": float(env_int("DATA_EXPORT_PURGE_INTERVAL_SECONDS", 3600)),
    },
    # Work whose task message was lost (the broker was down when its transaction committed,
    # or a worker died holding it) is queued again: notice emails, certificates, exports.
    "resend-lost-notification-emails": {
        "task": "accounts.tasks.resend_lost_notification_emails",
        "schedule": float(env_int("LOST_WORK_SWEEP_INTERVAL_SECONDS", 300)),
    },
    "resend-stale-certificate-requests": {
        "task": "transfers.tasks.resend_stale_certificate_requests",
        "schedule": float(env_int("LOST_WORK_SWEEP_INTERVAL_SECONDS", 300)),
    },
    "resend-stale-data-exports": {
        "task": "creditbank.tasks.resend_stale_data_exports",
        "schedule": float(env_int("LOST_WORK_SWEEP_INTERVAL_SECONDS", 300)),
    },
    # From 1 October while next year's working-day arrangement is not entered (or any day while
    # this year's is not): the management admins are told once a week (accreditation).
    "calendar-unpublished-notice": {
        "task": "accreditation.tasks.calendar_unpublished_notify_task",
        "schedule": 24 * 3600.0,
    },
    # Webhooks whose task was lost (broker down at commit, worker killed) are sent again.
    "resend-due-webhooks": {
        "task": "accounts.tasks.resend_due_webhooks",
        "schedule": float(env_int("WEBHOOK_SWEEP_INTERVAL_SECONDS", 60)),
    },
    # Decisions recognised from other banks: their origin status lists are read and what the
    # origin revoked is reversed here (transfers.recognitions, ADR 0022).
    "check-recognised-decisions": {
        "task": "transfers.tasks.check_recognised_decisions",
        "schedule": float(env_int("RECOGNITION_STATUS_CHECK_INTERVAL_SECONDS", 3600)),
    },
    # Idempotency-Keys of the transfer API are kept 24 hours.
    "purge-expired-idempotency-keys": {
        "task": "transfers.tasks.purge_expired_idempotency_keys",
        "schedule": 3600.0,
    },
    # The history tables' yearly partitions are made ahead of the rows (ADR 0024).
    "partitions-ahead": {
        "task": "creditbank.tasks.partitions_ahead_task",
        "schedule": 24 * 3600.0,
    },
}
# How far ahead the partitions of the history tables exist (common/partitions.py).
PARTITIONS_AHEAD_MONTHS = env_int("PARTITIONS_AHEAD_MONTHS", 12)

# --- Webhooks (accounts/webhooks) ------------------------------------------------------------

# Plain http to 127.0.0.1/localhost: development and tests only; production sends https to
# public addresses only.
WEBHOOKS_ALLOW_LOCAL_HTTP = env_bool("WEBHOOKS_ALLOW_LOCAL_HTTP", not PRODUCTION)
if PRODUCTION and WEBHOOKS_ALLOW_LOCAL_HTTP:
    raise ImproperlyConfigured("WEBHOOKS_ALLOW_LOCAL_HTTP must not be on in production.")
# --- Service accounts (OAuth 2.0 client credentials, django-oauth-toolkit; ADR 0023) ----------
OAUTH2_PROVIDER = {
    # Access tokens are short-lived: a system asks for a new one with its client credentials.
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_SECONDS", 600),
    "ACCESS_TOKEN_GENERATOR": "accounts.serviceaccounts.oauth.access_token_generate",
    "OAUTH2_VALIDATOR_CLASS": "accounts.serviceaccounts.oauth.ServiceAccountValidator",
    "SCOPES": {
        "members:import": "Import members into the institution's collective account",
        "batches:write": "Report training results in batches",
        "transfers:decide": "Decide credit transfers to the institution's programmes",
        "read": "Read the institution's members, batches and transfers",
    },
    "DEFAULT_SCOPES": ["read"],
    # No flow here uses them, but the deploy check holds them to RFC 9700 all the same.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    "PKCE_REQUIRED": True,
    # Every RFC 9700 recommendation on (only the token endpoint is mounted; the token itself
    # is kept as its SHA-256 checksum only, not in clear).
    **dict.fromkeys(
        [
            "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT",
            "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT",
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD",
            "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
            "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE",
            "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN",
            "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME",
            "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING",
            "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED",
        ],
        True,
    ),
}
# DOT's models are swappable; the accounts migration that points at its Application needs the
# setting named (kept at DOT's own model).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# The call log of each service account: the newest this many rows, for at most this many days
# (pruned by beat's purge-expired-api-tokens).
SERVICE_CALL_LOG_KEEP = env_int("SERVICE_CALL_LOG_KEEP", 10_000)
SERVICE_CALL_LOG_DAYS = env_int("SERVICE_CALL_LOG_DAYS", 90)

# Status lists of another bank's transfer records over plain http: development, tests and the
# two-portal harness only (their portals listen on http://127.0.0.1); production reads https.
RECOGNITION_ALLOW_HTTP = env_bool("RECOGNITION_ALLOW_HTTP", not PRODUCTION)
# A record's address or a status list on 127.0.0.1/localhost over plain http: off by default
# everywhere (a learner could otherwise probe the portal's own loopback ports on staging); the
# tests and the two-portal harness, whose banks listen on loopback, turn it on.
RECOGNITION_ALLOW_LOCAL_HTTP = env_bool("RECOGNITION_ALLOW_LOCAL_HTTP", False)
if PRODUCTION and RECOGNITION_ALLOW_LOCAL_HTTP:
    raise ImproperlyConfigured("RECOGNITION_ALLOW_LOCAL_HTTP must not be on in production.")
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# A transfer record given by its address, and another bank's status lists, are read through the
# same SSRF-safe connection (transfers.recognitions): the whole exchange within this many seconds.
RECOGNITION_FETCH_SECONDS = env_int("RECOGNITION_FETCH_SECONDS", 10)
# One import's fetches together (its address, then at most MAX_STATUS_LISTS status lists).
RECOGNITION_IMPORT_SECONDS = env_int("RECOGNITION_IMPORT_SECONDS", 30)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 18)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_CAP_SECONDS = env_int("WEBHOOK_RETRY_CAP_SECONDS", 6 * 3600)
# An outbound HTTP proxy for webhooks (``http://[user:password@]host:port``), for networks whose
# only way out is a proxy. Deliveries tunnel through it with CONNECT to the address the SSRF
# check passed, never to the name (docs/decisions/0018); HTTP(S)_PROXY is not read for them.
WEBHOOK_PROXY_URL = os.environ.get("WEBHOOK_PROXY_URL", "")


def proxy_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the webhooks' proxy (``http://[user:password@]host:port``, the
    port spelled out), or None. Checked at start, so that a typo stops the process rather
    than failing every delivery."""
    if not re.fullmatch(
        r"http://(?:[^@/?#\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})/?", url
    ):
        return "must be http://[user:password@]host:port"
    try:
        port = urlsplit(url).port
    except ValueError as exc:  # above 65535, or an IPv6 address urlsplit cannot read
        return str(exc)
    if port == 0:
        return "port 0 cannot be connected to"
    return None


if WEBHOOK_PROXY_URL and (_problem := proxy_url_problem(WEBHOOK_PROXY_URL)):
    raise ImproperlyConfigured(
        f"WEBHOOK_PROXY_URL {_problem}; it is {WEBHOOK_PROXY_URL.split('@')[-1]!r}."
    )

# --- Storage -----------------------------------------------------------------------------------

MEDIA_ROOT = VAR_DIR / "media"
# Uploaded evidence is never served from a public URL; views check who may see a file.
MEDIA_URL = "/media-not-served/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

S3_BUCKET = os.environ.get("STORAGE_S3_BUCKET") or os.environ.get("AWS_STORAGE_BUCKET_NAME")
if S3_BUCKET:
    _default_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL")
            or os.environ.get("AWS_S3_ENDPOINT_URL"),
            "region_name": os.environ.get("STORAGE_S3_REGION")
            or os.environ.get("AWS_S3_REGION_NAME"),
            "access_key": os.environ.get("STORAGE_S3_ACCESS_KEY")
            or os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("STORAGE_S3_SECRET_KEY")
            or os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "location": os.environ.get("STORAGE_S3_PREFIX", ""),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "addressing_style": os.environ.get("STORAGE_S3_ADDRESSING_STYLE", "path"),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
# Evidence files: the size of one file, and all of one learner's files together.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
EVIDENCE_QUOTA_BYTES = env_int("EVIDENCE_QUOTA_BYTES", 200 * 1024 * 1024)
# The accreditation clock: a decision is due at the end of the 15th working day after submission
# (accreditation.calendar); the reviewer is reminded this many working days before the due date.
ACCREDITATION_WORKING_DAYS = env_int("ACCREDITATION_WORKING_DAYS", 15)
REMINDER_WORKING_DAYS = env_int("REMINDER_WORKING_DAYS", 3)
# Notice emails, certificates and exports not done this long after they were asked for are
# taken to have lost their task message and are queued again; a worker's claim on a notice's
# email lapses after the lease (it died between claiming and sending).
NOTIFICATION_RESEND_AFTER_SECONDS = env_int("NOTIFICATION_RESEND_AFTER_SECONDS", 300)
NOTIFICATION_EMAIL_LEASE_SECONDS = env_int("NOTIFICATION_EMAIL_LEASE_SECONDS", 600)
STALE_REQUEST_SECONDS = env_int("STALE_REQUEST_SECONDS", 600)
# Days in which a learner may cancel the closure of their account.
ACCOUNT_CLOSURE_DAYS = env_int("ACCOUNT_CLOSURE_DAYS", 15)
# Identity numbers one member of staff may reveal in a day; past it the centre's administrators
# are alerted (once a day) and further reveals are refused until the next day.
IDENTITY_REVEALS_PER_DAY = env_int("IDENTITY_REVEALS_PER_DAY", 20)

WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Users, authentication, API ----------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses sign-in attempts while the account is locked out after failures.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.IdentifierBackend",
]
# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account
# from one client address, that pair is locked out for the cool-off time. The account is
# resolved from any of its identifiers, so switching between number, email and phone does not
# earn more tries; other addresses (a learner on their own phone) are not locked out by an
# attacker's failures.
# How many reverse proxies stand in front of the portal (the TLS proxy of docker-compose: 1).
# Client addresses for lockout and throttles are read through exactly that many; see
# accounts.backends.client_ip.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_ip"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.backends.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The issuer name authenticator apps show beside the code.
OTP_TOTP_ISSUER = "Credit Bank"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: it takes only its own tokens (``cbsa_``); any other Bearer goes on to knox.
        "accounts.serviceaccounts.authentication.ServiceAccountAuthentication",
        "accounts.signin.authentication.TokenAuthentication",
        "accounts.signin.authentication.VerifiedSessionAuthentication",
    ],
    # Signed in, and not a service account (those reach only the views naming their scope).
    "DEFAULT_PERMISSION_CLASSES": ["accounts.signin.person.IsPerson"],
    # JSON nested deeper than common.parsers.MAX_DEPTH is a field-keyed 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "creditbank.schema.ErrorDocumentingAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "creditbank.exceptions.api_exception_handler",
    # 0: the address is the connection's (REMOTE_ADDR); DRF reads None as "trust any
    # X-Forwarded-For", which would let a client choose the address its throttles count.
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0),
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("THROTTLE_TOKEN_RATE", "10/min"),
        # Service accounts' OAuth token endpoint, per address (each check costs a hash).
        "oauth_token": os.environ.get("THROTTLE_OAUTH_TOKEN_RATE", "30/min"),
        "register": os.environ.get("THROTTLE_REGISTER_RATE", "20/hour"),
        # Public reads without an account (the catalogue, the conversion rules), per address.
        "anon": os.environ.get("THROTTLE_ANON_RATE", "300/min"),
        # Certificate verification by serial (API and page), per address.
        "certificate_verify": os.environ.get("THROTTLE_VERIFY_RATE", "30/min"),
        # Transfer records brought for recognition (API and page), per learner: each costs
        # signature checks and fetches from another bank.
        "recognition": os.environ.get("THROTTLE_RECOGNITION_RATE", "20/hour"),
        # SMS codes asked for (registration, password reset), per number and per address.
        "sms_number": os.environ.get("THROTTLE_SMS_NUMBER_RATE", "5/hour"),
        "sms_address": os.environ.get("THROTTLE_SMS_ADDRESS_RATE", "20/hour"),
    },
}
REST_KNOX = {
    # Tokens are stored hashed; a client sends "Authorization: Token <token>".
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 10)),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Credit bank for lifelong learning API",
    "DESCRIPTION": (
        "Learning accounts, learning outcomes, accreditation, credit transfer and certificates. "
        "Obtain a token at POST /api/v1/auth/token/ and send it as "
        "'Authorization: Bearer <token>' (or 'Authorization: Token <token>'). "
        "Every 4xx answer has the ApiError body. A creating POST that documents the "
        "Idempotency-Key header may be retried with the same key: the retry gets the first "
        "answer, marked with the response header 'Idempotent-Replayed: true', and creates "
        "nothing."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The interactive docs are served from this server, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema is written in English whatever the caller's language (creditbank/schema.py).
    "DEFAULT_GENERATOR_CLASS": "creditbank.schema.EnglishSchemaGenerator",
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStateEnum": "accreditation.models.ApplicationState",
        "OutcomeKindEnum": "outcomes.models.OutcomeKind",
        "TransferStateEnum": "transfers.models.TransferApplication.State",
        "TransferItemStateEnum": "transfers.models.TransferItemState",
        "CertificateKindEnum": "transfers.models.Certificate.Kind",
        "ProgrammeKindEnum": "transfers.models.Programme.Kind",
        "MembershipStatusEnum": "accounts.collective.models.CollectiveMembership.Status",
        "WebhookEventTypeEnum": "accounts.webhooks.models.EventType",
        "WebhookDeliveryStatusEnum": "accounts.webhooks.models.WebhookDelivery.Status",
        # The one-value ``kind`` of each schema of POST /api/v1/outcomes/ (the discriminator),
        # named after the kind rather than after a hash of it.
        **{
            "".join(part.title() for part in kind.split("_")) + "KindEnum": [kind]
            for kind in (
                "vocational_qualification",
                "skill_level",
                "academic_course",
                "training",
                "online_course",
                "competition_award",
                "other",
            )
        },
    },
}

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
if REDIS_URL:
    # Sessions are read from the Redis cache and written through to the database: a signed-in
    # request reads one Redis key instead of querying the session table. Signing out deletes
    # both (session.flush()), and a changed password or a deactivated user still ends the
    # session, since the user is loaded and checked on every request as before.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# The language switcher's cookie is sent on same-site requests only, like the others.
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ----------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    # Each language is named in itself in the switcher.
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Email -------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@creditbank.example")
# The portal's public address (https://xuefen.example.cn), for links in emails sent by workers,
# which have no request to read it from, and on certificates (their QR code and credential).
# Required in production (the system check creditbank.E001); in development, the address the
# server listens on (HOST and PORT, which the Makefile exports).
PORTAL_URL = os.environ.get("PORTAL_URL", "").rstrip("/")
if not PORTAL_URL and not PRODUCTION:
    PORTAL_URL = development_portal_url(os.environ.get("HOST", ""), os.environ.get("PORT", ""))
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# SMS (one-time codes; accounts/signin/sms.py): the console in development (the code in the log
# while DEBUG is on), Aliyun SMS in production: SMS_BACKEND=accounts.signin.sms.AliyunBackend.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "accounts.signin.sms.ConsoleBackend")
SMS_ALIYUN_ENDPOINT = os.environ.get("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_REGION = os.environ.get("SMS_ALIYUN_REGION", "cn-hangzhou")
SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("SMS_ALIYUN_ACCESS_KEY_ID", "")
SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("SMS_ALIYUN_ACCESS_KEY_SECRET", "")
SMS_ALIYUN_SIGN_NAME = os.environ.get("SMS_ALIYUN_SIGN_NAME", "")
SMS_ALIYUN_TEMPLATE_CODE = os.environ.get("SMS_ALIYUN_TEMPLATE_CODE", "")
SMS_TIMEOUT_SECONDS = float(os.environ.get("SMS_TIMEOUT_SECONDS", "5"))
SMS_CODE_MINUTES = env_int("SMS_CODE_MINUTES", 5)
SMS_CODE_MAX_WRONG_TRIES = env_int("SMS_CODE_MAX_WRONG_TRIES", 5)

# --- Production hardening ----------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Everything comes from this server (creditbank.middleware.ContentSecurityPolicyMiddleware):
# inline scripts and styles only with the response's nonce; images may be data: URLs (the
# interactive API docs draw their icons so); no plugins, no framing, forms posted only here.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Browser features no page of the portal uses, denied to it and to anything it might embed
# (creditbank.middleware.PermissionsPolicyMiddleware): a script that got in still cannot turn
# on the camera or the microphone, locate the user, or reach a payment or a USB device.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes from the orchestrator speak plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# --- Logging -----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# How long /readyz waits for each dependency before calling it down.
READINESS_TIMEOUT_SECONDS = float(os.environ.get("READINESS_TIMEOUT_SECONDS", "2"))

PORTAL_NAME = _("Credit Bank for Lifelong Learning")
