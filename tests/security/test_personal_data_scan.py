"""The personal-data scan: after an end-to-end run that touches identity numbers of every kind,
no full identity number is left anywhere the portal writes (only the masked forms), and the logs
hold no password, API token, session key or authenticator secret used in the run.

The run: three learners register (over the API and on the page) with a resident identity card,
a Hong Kong/Macao/Taiwan residence permit and a foreign permanent resident ID card; a reviewer
signs in with TOTP (API and page), opens an account at the counter, finds a learner by identity
number; a learner saves a result with evidence and applies; the reviewer reveals that learner's
number for the application under review (a listed reason and its reference) and accredits
it; a real Celery worker (on REDIS_URL) renders certificates and builds the data export ZIP;
the learner downloads them; anyone verifies a certificate.

A second run closes an account that still has open work in every layer (an application, a
transfer, a correction request) whose free text holds a distinctive phrase, a phone number and
a full identity number, and scans a pg_dump for them: none may outlive the closure.

Then it scans: a pg_dump of the test database, the test process's and the worker's logs (at
DEBUG) and the emails, every key of the Redis database, every stored file (PDFs as extracted
text, decompressed streams and embedded files; ZIPs member by member) and every PDF and ZIP
downloaded.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import subprocess
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pypdf import PdfReader
from pypdf.generic import StreamObject
from rest_framework.test import APIClient
from stdnum.iso7064 import mod_11_2

from accounts.models import LearningAccount, User
from creditbank.management.commands.seed_demo import DEMO_LEARNER_ID, DEMO_PASSWORD
from tests.outcomes.samples import jpeg_bytes, pdf_bytes
from tests.people import PASSWORD as STAFF_PASSWORD
from tests.processes import process_env, start, stop
from tests.worlds import OPEN_WORK_ID, OPEN_WORK_PHONE, OPEN_WORK_PHRASE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def with_check(first17: str) -> str:
    return first17 + mod_11_2.calc_check_digit(first17)


def resident_ending_in_x() -> str:
    """A resident identity number whose check character is X, so the lower-case variant is a
    distinct string to look for."""
    for serial in range(100, 1000):
        number = with_check(f"50010319880215{serial:03d}")
        if number.endswith("X"):
            return number
    raise AssertionError("no X check character in range")


RESIDENT_X = resident_ending_in_x()
COUNTER_RESIDENT = with_check("50010619700101123")
HMT_PERMIT = with_check("81000019900101002")
FOREIGN_PERMANENT = with_check("95084019800101001")
FOREIGN_PERMANENT_15 = "USA500180080112"  # the earlier 15-character card
PASSWORDS = {
    "api learner": "Scan-resident-2026!",
    "page learner": "Scan-permit-2026!",
    "foreign learner": "Scan-foreign-2026!",
}


def variants(number: str) -> set[str]:
    """The forms a full number could be written in: as given, lower- and upper-case, and
    grouped with spaces (6-8-4 as on the card, or in fours)."""
    forms = {number, number.lower(), number.upper()}
    if len(number) == 18:
        forms.add(f"{number[:6]} {number[6:14]} {number[14:]}")
    forms.add(" ".join(number[i : i + 4] for i in range(0, len(number), 4)))
    return forms | {form.lower() for form in forms}


def compact(text: str) -> str:
    """PDF text extraction may split a number with spaces or line breaks."""
    return re.sub(r"[\s\x00]+", "", text)


# --- What the scan reads ------------------------------------------------------------------------


def pdf_texts(data: bytes) -> Iterator[str]:
    """A PDF's extracted text, every stream decompressed, and every embedded file."""
    reader = PdfReader(io.BytesIO(data))
    yield "".join(page.extract_text() or "" for page in reader.pages)
    for number in range(1, int(cast(Any, reader.trailer["/Size"]))):
        try:
            obj = reader.get_object(number)
        except Exception:  # noqa: S112 - object numbers are probed, gaps are normal
            continue
        if isinstance(obj, StreamObject):
            try:
                yield obj.get_data().decode("latin-1")
            except Exception:  # noqa: S112 - an image filter pypdf cannot undo
                continue
    for name, contents in reader.attachments.items():
        for content in contents:
            yield f"{name}\n" + content.decode("utf-8", "replace")


def file_texts(name: str, data: bytes) -> Iterator[tuple[str, str]]:
    """Every readable form of a stored or downloaded file, named by where it came from."""
    yield name, data.decode("latin-1")
    yield name + " (utf-8)", data.decode("utf-8", "replace")
    if data.startswith(b"%PDF"):
        for index, text in enumerate(pdf_texts(data)):
            yield f"{name} (pdf part {index})", text
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from file_texts(f"{name}!{member}", archive.read(member))


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{24,}")


def with_base64_decoded(text: str) -> str:
    """Celery messages in Redis carry their bodies in base64: decode every long run too."""
    decoded = []
    for run in BASE64_RUN.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
            except ValueError:
                continue
    return "\n".join([text, *decoded])


def redis_texts(url: str) -> Iterator[tuple[str, str]]:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(count=500):
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "hash":
            values = [b"%s=%s" % pair for pair in client.hgetall(key).items()]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = client.zrange(key, 0, -1)
        else:
            values = []
        text = "\n".join(value.decode("utf-8", "replace") for value in values)
        yield f"redis {key.decode('utf-8', 'replace')}", with_base64_decoded(text)


def database_dump() -> str:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    command = ["pg_dump", "--no-owner", "-h", str(db["HOST"] or "127.0.0.1")]
    command += ["-p", str(db["PORT"] or 5432), "-U", str(db["USER"]), str(db["NAME"])]
    return subprocess.run(command, env=env, capture_output=True, check=True, text=True).stdout


def leaks(places: dict[str, str], needles: dict[str, set[str]]) -> list[str]:
    """Where any form of a needle appears, with a little of what surrounds it."""
    found = []
    for where, text in places.items():
        squeezed = compact(text).lower()
        for what, forms in needles.items():
            for form in sorted(forms):
                at = text.find(form)
                if at >= 0:
                    found.append(f"{what} in {where}: ...{text[max(0, at - 120) : at + 40]!r}")
                    break
                at = squeezed.find(compact(form).lower())
                if at >= 0:
                    found.append(f"{what} in {where}: ...{squeezed[max(0, at - 120) : at + 40]!r}")
                    break
    return found


# --- The run ------------------------------------------------------------------------------------


def demo_code(username: str) -> str:
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return str(totp(device.bin_key)).zfill(6)


def wait_for(check, what: str, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not done in {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def celery_through_redis(redis_url: str) -> Iterator[None]:
    """Tasks go to the broker on REDIS_URL instead of running in this process."""
    from creditbank.celery import app

    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def application_log(tmp_path: Path) -> Iterator[Path]:
    """Every record this process logs, at DEBUG, into a file."""
    path = tmp_path / "portal.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    quiet = ("fontTools", "PIL", "factory", "faker")
    saved = {
        name: logging.getLogger(name).level
        for name in ("", "django", "django.request", "django.db.backends", "axes", "celery", *quiet)
    }
    root.addHandler(handler)
    for name in saved:
        logging.getLogger(name).setLevel(logging.INFO if name in quiet else logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_no_full_identity_number_or_secret_is_left_anywhere_after_a_full_run(
    postgres, redis_url, celery_through_redis, application_log, settings, tmp_path
):
    key = base64.b64encode(os.urandom(32)).decode()
    settings.CERTIFICATE_SIGNING_KEY = key
    call_command("seed_demo", stdout=io.StringIO())
    worker_log = tmp_path / "worker.log"
    worker = start(
        ["worker", "--loglevel", "DEBUG", "--pool", "solo", "--hostname", "scan@%h"],
        process_env(
            tmp_path,
            redis_url,
            CERTIFICATE_SIGNING_KEY=key,
            LOG_LEVEL="DEBUG",
            DJANGO_DEBUG="0",
        ),
        worker_log,
    )
    secrets: dict[str, str] = {f"password of {who}": pw for who, pw in PASSWORDS.items()}
    secrets["demo password"] = DEMO_PASSWORD
    downloads: dict[str, bytes] = {}
    try:
        api = APIClient(HTTP_ACCEPT_LANGUAGE="en")

        # Three learners register: over the API, on the page, over the API.
        def register(id_type: str, number: str, who: str, phone: str) -> str:
            response = api.post(
                "/api/v1/accounts/",
                {
                    "name": "扫描测试",
                    "id_type": id_type,
                    "id_number": number,
                    "phone": phone,
                    "email": f"{phone}@scan.example.cn",
                    "password": PASSWORDS[who],
                },
                format="json",
            )
            assert response.status_code == 201, response.content
            return response.json()["account_number"]

        resident_number = register("resident_id", RESIDENT_X, "api learner", "13700000001")
        foreign_number = register(
            "foreign_permanent_resident", FOREIGN_PERMANENT, "foreign learner", "13700000003"
        )
        # The same card again, written in lower case with spaces: refused, and not echoed.
        again = api.post(
            "/api/v1/accounts/",
            {
                "name": "扫描测试",
                "id_type": "resident_id",
                "id_number": f"{RESIDENT_X[:6]} {RESIDENT_X[6:14]} {RESIDENT_X[14:]}".lower(),
                "phone": "13700000009",
                "email": "again@scan.example.cn",
                "password": PASSWORDS["api learner"],
            },
            format="json",
        )
        assert again.status_code == 400, again.content

        from django.test import Client, override_settings

        from accounts.signin import sms
        from accounts.signin.sms_codes import sms_code_send

        # The page asks for the code the phone received; made here, in this process, so that
        # the test can read it (the worker's console backend does not show codes).
        with override_settings(SMS_BACKEND="accounts.signin.sms.LocmemBackend"):
            sms_code_send(phone="13700000002", purpose="register")
        page = Client()
        registered = page.post(
            "/register/",
            {
                "name": "港澳居民",
                "id_type": "hmt_residence_permit",
                "id_number": HMT_PERMIT,
                "phone": "13700000002",
                "code": sms.outbox.pop().code,
                "email": "permit@scan.example.cn",
                "password1": PASSWORDS["page learner"],
                "password2": PASSWORDS["page learner"],
            },
        )
        assert registered.status_code == 302, registered.content.decode()[:2000]
        secrets["session key of the page learner"] = page.cookies["sessionid"].value
        assert page.get("/file/").status_code == 200

        # A learner types the identity number where the sign-in asks for a number or phone.
        mistaken = api.post(
            "/api/v1/auth/token/",
            {"username": RESIDENT_X.lower(), "password": "not-the-password"},
            format="json",
        )
        assert mistaken.status_code == 400, mistaken.content
        wrong = Client()
        wrong.post("/login/", {"username": HMT_PERMIT, "password": "not-the-password"})

        # The reviewer signs in with TOTP over the API and on the page.
        for device in TOTPDevice.objects.all():
            secrets[f"TOTP key of {device.user.username}"] = device.key
            secrets[f"TOTP key (base32) of {device.user.username}"] = (
                base64.b32encode(device.bin_key).decode().rstrip("=")
            )
        staff = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        signed_in = staff.post(
            "/api/v1/auth/token/",
            {
                "username": "reviewer.yuzhong",
                "password": DEMO_PASSWORD,
                "otp_code": demo_code("reviewer.yuzhong"),
            },
            format="json",
        )
        assert signed_in.status_code == 200, signed_in.content
        secrets["API token of the reviewer"] = signed_in.json()["token"]
        staff.credentials(HTTP_AUTHORIZATION=f"Token {signed_in.json()['token']}")

        counter = Client()
        login = counter.post("/login/", {"username": "reviewer.yuzhong", "password": DEMO_PASSWORD})
        assert login.status_code == 302, login.content.decode()[:2000]
        verified = counter.post("/mfa/verify/", {"code": demo_code("reviewer.yuzhong")})
        assert verified.status_code == 302, verified.content.decode()[:2000]
        secrets["session key of the reviewer"] = counter.cookies["sessionid"].value

        # The reviewer opens an account at the counter and finds learners by identity number
        # (and reveals one below, for an application under review at the centre).
        opened = counter.post(
            "/centre/accounts/new/",
            {
                "name": "柜台开户",
                "id_type": "resident_id",
                "id_number": COUNTER_RESIDENT,
                "phone": "13700000004",
                "email": "counter@scan.example.cn",
                "document_note": "居民身份证原件",
            },
        )
        assert opened.status_code == 302, opened.content.decode()[:2000]
        # And one over the counter API, with the earlier 15-character foreign card.
        counter_api = staff.post(
            "/api/v1/centre/accounts/",
            {
                "name": "柜台外籍",
                "id_type": "foreign_permanent_resident",
                "id_number": FOREIGN_PERMANENT_15,
                "phone": "13700000005",
                "email": "foreign15@scan.example.cn",
                "document_note": "外国人永久居留身份证原件",
            },
            format="json",
        )
        assert counter_api.status_code == 201, counter_api.content
        found = counter.post(
            "/centre/learners/", {"id_type": "hmt_residence_permit", "id_number": HMT_PERMIT}
        )
        assert found.status_code in (200, 302)
        looked_up = staff.post(
            "/api/v1/accounts/lookup/",
            {"id_type": "foreign_permanent_resident", "id_number": FOREIGN_PERMANENT},
            format="json",
        )
        assert looked_up.json()["account_number"] == foreign_number

        # The resident learner signs in over the API, saves a result with evidence, applies.
        learner = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        token = learner.post(
            "/api/v1/auth/token/",
            {"username": "13700000001", "password": PASSWORDS["api learner"]},
            format="json",
        )
        assert token.status_code == 200, token.content
        secrets["API token of the learner"] = token.json()["token"]
        learner.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
        from django.core.files.uploadedfile import SimpleUploadedFile

        outcome = learner.post(
            "/api/v1/outcomes/",
            {
                "kind": "vocational_qualification",
                "title": "幼儿园园长任职资格证书",
                "issuing_body": "重庆市教育委员会",
                "certificate_number": "YZ2020-000777",
                "achieved_on": "2020-07-01",
                "result": "合格",
                "files": [
                    SimpleUploadedFile("证书.pdf", pdf_bytes("园长任职资格证书 YZ2020-000777")),
                    SimpleUploadedFile("照片.jpg", jpeg_bytes()),
                ],
            },
            format="multipart",
        )
        assert outcome.status_code == 201, outcome.content
        applied = learner.post(
            "/api/v1/applications/",
            {"outcome": outcome.json()["id"], "centre": "CQ-YZ", "claimed_entry": "CQ-ZG-001"},
            format="json",
        )
        assert applied.status_code == 201, applied.content
        application = applied.json()["id"]
        # The reviewer reveals the learner's number for the application under review at the
        # centre (a listed reason and a reference are required).
        revealed = staff.post(
            f"/api/v1/accounts/{resident_number}/identity-reveals/",
            {"reason": "application_review", "reference": str(application)},
            format="json",
        )
        # The one answer that carries the number in clear: it proves the scan would see it.
        assert revealed.json()["id_number"] == RESIDENT_X, revealed.content
        for move, payload in (("start-review", {}), ("accredit", {"entry": "CQ-ZG-001"})):
            moved = staff.post(
                f"/api/v1/applications/{application}/{move}/", payload, format="json"
            )
            assert moved.status_code == 200, moved.content

        # The worker makes two certificates and the data export; the learner downloads them.
        serials = []
        today = timezone.localdate().isoformat()
        period = {"hours_certificate": {"period_from": "2020-01-01", "period_to": today}}
        for kind in ("hours_certificate", "learning_file"):
            asked = learner.post(
                "/api/v1/certificates/",
                {
                    "kind": kind,
                    "disclose": ["name", "id_number", "account_number", "items"],
                    **period.get(kind, {}),
                },
                format="json",
            )
            assert asked.status_code in (200, 201, 202), asked.content
            serials.append(asked.json()["serial"])
        exported = learner.post("/api/v1/accounts/me/exports/")
        assert exported.status_code in (200, 201, 202), exported.content

        for serial in serials:
            wait_for(
                lambda serial=serial: (
                    learner.get(f"/api/v1/certificates/{serial}/").json()["state"] == "issued"
                ),
                f"certificate {serial}",
                worker_log,
            )
            pdf = learner.get(f"/api/v1/certificates/{serial}/pdf/")
            downloads[f"certificate {serial}.pdf"] = body(pdf)
            credential = learner.get(f"/api/v1/certificates/{serial}/credential.json")
            downloads[f"certificate {serial}.json"] = body(credential)
            assert APIClient().get(f"/api/v1/certificates/verify/{serial}/").json()["genuine"]
            assert Client().get(f"/verify/{serial}/").status_code == 200
        link = wait_for(
            lambda: learner.get("/api/v1/accounts/me/exports/").json()[0]["download"],
            "the data export",
            worker_log,
        )
        archive = learner.get(link)
        downloads["export.zip"] = body(archive)
        file_pdf = page.get("/file/pdf/")
        downloads["file.pdf"] = body(file_pdf)
        learner.post("/api/v1/auth/logout/")
        page.get("/logout/")
    finally:
        stop(worker)

    # --- The scan -------------------------------------------------------------------------------
    numbers = {
        "resident ID (X)": RESIDENT_X,
        "resident ID (counter)": COUNTER_RESIDENT,
        "HMT residence permit": HMT_PERMIT,
        "foreign permanent resident ID": FOREIGN_PERMANENT,
        "foreign permanent resident ID (15)": FOREIGN_PERMANENT_15,
        "demo learner's resident ID": DEMO_LEARNER_ID,
    }
    needles = {what: variants(number) for what, number in numbers.items()}

    dump = database_dump()
    logs = {
        "the portal's log": application_log.read_text(encoding="utf-8"),
        "the worker's log": worker_log.read_text(encoding="utf-8", errors="replace"),
        "emails": "\n".join(
            f"{m.subject}\n{m.body}\n"
            + "\n".join(str(a[0]) for a in getattr(m, "alternatives", []))
            for m in mail.outbox
        ),
    }
    places: dict[str, str] = {"pg_dump": dump, **logs}
    places.update(redis_texts(redis_url))
    media = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    stored = sorted(p for p in media.rglob("*") if p.is_file())
    for path in stored:
        places.update(file_texts(f"stored {path.relative_to(media)}", path.read_bytes()))
    for name, data in downloads.items():
        places.update(file_texts(f"download {name}", data))

    assert leaks(places, needles) == []
    assert leaks(logs, {what: {value} for what, value in secrets.items()}) == []

    # The scan can fail: it finds a number in the one answer that shows it in clear, in a PDF's
    # text, in a ZIP, and in a base64 message body.
    planted = {
        "reveal": revealed.content.decode(),
        **dict(file_texts("planted.pdf", pdf_bytes(f"证件号码 {HMT_PERMIT}"))),
        **dict(file_texts("planted.zip", zipped({"a/b.json": FOREIGN_PERMANENT.encode()}))),
        "planted base64": with_base64_decoded(base64.b64encode(COUNTER_RESIDENT.encode()).decode()),
    }
    assert {where.split(":")[0] for where in leaks(planted, needles)} >= {
        "resident ID (X) in reveal",
        "HMT residence permit in planted.pdf (pdf part 0)",
        "foreign permanent resident ID in planted.zip!a/b.json",
        "resident ID (counter) in planted base64",
    }
    # The scan saw what it had to see: the places hold the records, masked.
    masked = LearningAccount.objects.get(number=resident_number).id_number_masked
    certificate_text = "".join(pdf_texts(downloads[f"certificate {serials[0]}.pdf"]))
    assert compact(masked) in compact(certificate_text)
    assert "certificate.json" in certificate_text
    assert masked in dump
    assert "YZ2020-000777" in dump
    assert any(name.endswith(".pdf") for name in map(str, stored))
    assert "render_certificate" in logs["the worker's log"]
    assert "succeeded" in logs["the worker's log"]
    assert any(where.startswith("redis celery-task-meta") for where in places)
    assert User.objects.filter(username="reviewer.yuzhong").exists()
    assert urlsplit(link).path.startswith("/api/v1/accounts/me/exports/")


def test_no_free_text_of_a_closed_account_is_left_in_the_database(
    postgres, open_work_world, learner
):
    from accounts.rights.services import account_closures_run

    planted = {
        "the phrase": {OPEN_WORK_PHRASE},
        "the phone number": {OPEN_WORK_PHONE},
        "the identity number": variants(OPEN_WORK_ID),
    }
    before = database_dump()
    # The scan sees what was written: the statement, the title, the reasons, the answers.
    assert {where.split(" in ")[0] for where in leaks({"pg_dump": before}, planted)} == set(planted)

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(learner)
    asked = api.post("/api/v1/accounts/me/closure/", {"password": STAFF_PASSWORD}, format="json")
    assert asked.status_code == 201, asked.content
    assert account_closures_run(now=timezone.now() + timedelta(days=16)) == 1

    after = database_dump()
    assert leaks({"pg_dump": after}, planted) == []
    assert LearningAccount.objects.get(pk=open_work_world["account"].pk).status == "closed"
