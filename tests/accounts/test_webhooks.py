"""Webhooks (issue 22): an institution's administrator subscribes its system to events; each
event is written to the outbox in the transaction of the change, signed as the Standard
Webhooks specification says, retried with capped, jittered backoff until "failed", and replayed
with the same ``webhook-id``. The receiver here is a real HTTP server that checks signatures
with the reference library (tests/accounts/webhook_receiver.py)."""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.collective.services import collective_invitation_accept, collective_invitation_decline
from accounts.models import (
    CollectiveMembership,
    Role,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from accounts.services import webhook_event_record
from accounts.webhooks import services as webhook_services
from accounts.webhooks.addresses import webhook_target, webhook_url_check
from accounts.webhooks.services import (
    retry_delay,
    webhook_deliver,
    webhook_deliveries_resend,
    webhook_delivery_replay,
    webhook_secret_of,
    webhook_subscription_create,
    webhook_subscription_update,
)
from accounts.webhooks.signing import headers_of, secret_generate, signature_of
from accreditation.services import accreditation_revoke
from outcomes.batches import outcome_confirm, outcome_decline
from outcomes.models import InstitutionBatch, LearningOutcome
from tests.accounts.factories import (
    CollectiveAccountFactory,
    InstitutionFactory,
    PersonalAccountFactory,
    UserFactory,
)
from tests.accounts.webhook_receiver import Received, Receiver, body_of
from tests.outcomes.factories import LearningOutcomeFactory
from tests.people import login_verified, with_totp
from tests.processes import free_port
from transfers.services import transfer_apply, transfer_item_decide

pytestmark = pytest.mark.django_db

EVERY_EVENT = list(WebhookEventType.values)
PUBLIC = "https://93.184.215.14/hooks"  # a public address literal: no DNS in tests


def subscribe(admin, url: str = PUBLIC, events=None) -> tuple[WebhookSubscription, str]:
    return webhook_subscription_create(
        institution=admin.institution, actor=admin, url=url, event_types=events or EVERY_EVENT
    )


@pytest.fixture
def university_admin(institution_officer):
    """The administrator of the officer's university (the institution transfers go to)."""
    return with_totp(
        UserFactory(
            username="uma",
            role=Role.INSTITUTION_ADMIN,
            institution=institution_officer.institution,
        )
    )


@pytest.fixture
def receiver():
    received = Received(secret="")
    server = Receiver(received)
    yield server
    server.stop()


# --- Signing -------------------------------------------------------------------------------------


def test_signatures_match_the_standard_webhooks_specifications_example():
    # The example of the specification and of every reference library.
    assert (
        signature_of(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body='{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_reference_library_accepts_what_we_sign_and_refuses_another_secret():
    secret = secret_generate()
    body = '{"type":"transfer.applied","data":{"transfer":1}}'
    headers = headers_of(secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body)

    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)


# --- Where a webhook may go (SSRF) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # not https
        "ftp://93.184.215.14/hooks",
        "https://10.0.0.5/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://localhost/hooks",  # a name that resolves to a private address
        "http://127.0.0.1:8000/hooks",  # local http: development only
        "https://user:secret@93.184.215.14/hooks",
        "not a url",
        "https://[::1/hooks",  # a broken IPv6 literal
        "https://93.184.215.14/ho oks",
        "https://93.184.215.14/\x00hooks",
        # IPv6 forms that lead to an IPv4 address of the writer's choosing.
        "https://[64:ff9b::a9fe:a9fe]/hooks",  # NAT64 of 169.254.169.254
        "https://[64:ff9b::5db8:d70e]/hooks",  # NAT64, even of a public address
        "https://[2002:7f00:1::1]/hooks",  # 6to4 of 127.0.0.1
        "https://[::ffff:10.0.0.5]/hooks",  # IPv4-mapped private address
        "https://[::ffff:169.254.169.254]/hooks",
    ],
)
def test_production_refuses_any_url_but_https_to_a_public_address(settings, url):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False

    with pytest.raises(ValidationError) as exc:
        webhook_url_check(url)

    assert list(exc.value.message_dict) == ["url"]


def test_production_accepts_https_to_a_public_address(settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    assert webhook_url_check(PUBLIC) == PUBLIC


def test_development_allows_plain_http_to_this_machine_only(settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    assert webhook_url_check("http://127.0.0.1:8000/hooks") == "http://127.0.0.1:8000/hooks"
    assert webhook_url_check("http://localhost/hooks") == "http://localhost/hooks"
    for refused in ("http://10.0.0.5/hooks", "https://10.0.0.5/hooks", "http://93.184.215.14/"):
        with pytest.raises(ValidationError):
            webhook_url_check(refused)


def test_an_address_allowed_when_saved_is_checked_again_before_each_attempt(
    settings, institution_admin, receiver
):
    _subscription, secret = subscribe(institution_admin, url=receiver.url)
    receiver.received.secret = secret
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False  # as in production
    [delivery] = webhook_event_record(
        institution_id=institution_admin.institution_id,
        event_type=WebhookEventType.MEMBER_INVITATION_ANSWERED,
        data={"membership": 1},
    )

    assert webhook_deliver(message_id=delivery.message_id) == "pending"

    delivery.refresh_from_db()
    assert receiver.received.posts == []
    assert delivery.last_status_code is None
    assert delivery.last_error


class Answering:
    """A stand-in for ``socket.getaddrinfo``: each call answers the next address (the last one
    from then on), as a name with a TTL of 0 can; ``calls`` holds the names asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        answer = self.answers[min(len(self.calls), len(self.answers) - 1)]
        self.calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, port))]


def test_a_name_that_answers_a_private_address_to_the_connection_is_not_followed(
    settings, institution_admin, monkeypatch
):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 after it;
    the connection goes to the checked address, never to a second answer."""
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    monkeypatch.setattr(socket, "getaddrinfo", Answering("93.184.215.14"))
    subscribe(institution_admin, url="https://hooks.example.org/hooks")
    delivery = recorded(institution_admin)
    rebinding = Answering("93.184.215.14", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected = []

    def create_connection(address, *args, **kwargs):
        # What the real one does: resolve a name (here: again), then connect; no network here.
        host, port = address
        try:
            socket.inet_pton(socket.AF_INET, host)
        except OSError:
            host = socket.getaddrinfo(host, port)[0][4][0]
        connected.append((host, port))
        raise ConnectionRefusedError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", create_connection)

    assert webhook_deliver(message_id=delivery.message_id) == "pending"

    assert connected == [("93.184.215.14", 443)]
    assert rebinding.calls == ["hooks.example.org"]  # resolved once, for the check
    delivery.refresh_from_db()
    assert delivery.last_error


def test_the_connection_keeps_the_name_for_the_host_header_and_the_tls_server_name(
    settings, institution_admin, receiver, monkeypatch
):
    # http (development): the checked address of "localhost", the name in the Host header.
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    url = f"http://localhost:{receiver.port}/hooks"
    _subscription, receiver.received.secret = subscribe(institution_admin, url=url)
    delivery = recorded(institution_admin)
    assert webhook_deliver(message_id=delivery.message_id) == "delivered"
    assert receiver.received.posts[0]["host"] == f"localhost:{receiver.port}"

    # https: the socket goes to the checked address; TLS is given the name (SNI, certificate).
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    wrapped = []

    class Context:
        def wrap_socket(self, sock, server_hostname):
            wrapped.append((sock, server_hostname))
            raise ssl.SSLError("no certificate in tests")

    ours, theirs = socket.socketpair(socket.AF_UNIX)
    connected = []
    monkeypatch.setattr(socket, "getaddrinfo", Answering("93.184.215.14"))

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        return ours

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(ssl, "create_default_context", Context)
    target = webhook_target("https://hooks.example.org/hooks")
    try:
        code, error = webhook_services._post(target, "{}", {})
    finally:
        theirs.close()

    assert (code, connected) == (None, [("93.184.215.14", 443)])
    assert wrapped == [(ours, "hooks.example.org")]
    assert "no certificate" in error


# --- The administrator's pages -------------------------------------------------------------------


def test_the_admin_adds_a_webhook_and_sees_its_secret_once(client, institution_admin):
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    created = client.post(
        f"/institutions/{pk}/webhooks/",
        {"url": PUBLIC, "event_types": ["transfer.applied", "certificate.revoked"]},
    )

    subscription = WebhookSubscription.objects.get(institution_id=pk)
    assert created.status_code == 302
    assert created["Location"] == f"/institutions/{pk}/webhooks/{subscription.pk}/"
    assert subscription.event_types == ["certificate.revoked", "transfer.applied"]
    first = client.get(created["Location"]).content.decode()
    shown = re.search(r"<code>(whsec_[^<]+)</code>", first)
    assert shown is not None
    secret = shown.group(1)
    assert secret == webhook_secret_of(subscription)
    assert secret not in subscription.secret_encrypted  # encrypted at rest
    assert "whsec_" not in client.get(created["Location"]).content.decode()  # once only


def test_the_admin_rotates_the_secret_and_later_messages_are_signed_with_the_new_one(
    client, institution_admin
):
    subscription, old = subscribe(institution_admin)
    login_verified(client, institution_admin)
    base = f"/institutions/{institution_admin.institution_id}/webhooks/{subscription.pk}/"

    rotated = client.post(base + "rotate/")
    page = client.get(rotated["Location"]).content.decode()

    new = re.search(r"<code>(whsec_[^<]+)</code>", page).group(1)  # type: ignore[union-attr]
    assert new != old
    subscription.refresh_from_db()
    assert webhook_secret_of(subscription) == new


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "https://10.0.0.5/hooks", "event_types": ["transfer.applied"]}, "id_url"),
        ({"url": PUBLIC, "event_types": []}, "id_event_types"),
        ({"url": PUBLIC, "event_types": ["transfer.exploded"]}, "id_event_types"),
    ],
)
def test_a_bad_webhook_gets_a_field_error_and_nothing_is_saved(
    client, institution_admin, settings, data, field
):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    login_verified(client, institution_admin)

    answer = client.post(f"/institutions/{institution_admin.institution_id}/webhooks/", data)

    assert answer.status_code == 400
    assert (
        f'id="{field}_errors"' in answer.content.decode() or f"{field}_" in answer.content.decode()
    )
    assert not WebhookSubscription.objects.exists()


def test_the_admin_edits_and_deletes_a_webhook(client, institution_admin):
    subscription, _secret = subscribe(institution_admin)
    login_verified(client, institution_admin)
    base = f"/institutions/{institution_admin.institution_id}/webhooks/{subscription.pk}/"

    edited = client.post(base, {"url": PUBLIC + "/v2", "event_types": ["transfer.decided"]})
    subscription.refresh_from_db()
    assert edited.status_code == 302
    assert (subscription.url, subscription.event_types, subscription.is_active) == (
        PUBLIC + "/v2",
        ["transfer.decided"],
        False,  # the box was not ticked
    )

    deleted = client.post(base + "delete/")
    assert deleted.status_code == 302
    assert not WebhookSubscription.objects.exists()


def test_another_institutions_admin_cannot_see_or_replay_them(client, institution_admin):
    subscription, _secret = subscribe(institution_admin)
    [delivery] = webhook_event_record(
        institution_id=institution_admin.institution_id,
        event_type=WebhookEventType.TRANSFER_APPLIED,
        data={"transfer": 1},
    )
    other = with_totp(UserFactory(role=Role.INSTITUTION_ADMIN, institution=InstitutionFactory()))
    login_verified(client, other)
    pk = institution_admin.institution_id

    assert client.get(f"/institutions/{pk}/webhooks/").status_code == 404
    assert client.get(f"/institutions/{pk}/webhooks/{subscription.pk}/").status_code == 404
    own = f"/institutions/{other.institution_id}/webhooks/deliveries/{delivery.pk}/replay/"
    assert client.post(own).status_code == 404
    with pytest.raises(PermissionDenied):
        webhook_delivery_replay(delivery=delivery, actor=other)


# --- Events, written with the change -------------------------------------------------------------


def test_a_transfer_application_and_decision_are_written_with_the_change(
    transfer_world, learner, institution_officer, university_admin
):
    subscribe(university_admin)
    world = transfer_world

    application = transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], world["outcome"])],
        actor=learner,
    )
    with pytest.raises(ValidationError):  # the same outcome again: refused, nothing written
        transfer_apply(
            account=world["account"],
            programme=world["programme"],
            items=[(world["courses"][0], world["outcome"])],
            actor=learner,
        )
    item = application.items.get()
    transfer_item_decide(item=item, actor=institution_officer, decision="accept")

    applied, decided = WebhookDelivery.objects.order_by("pk")
    assert WebhookDelivery.objects.count() == 2
    assert body_of(applied)["type"] == "transfer.applied"
    assert body_of(applied)["data"] == {
        "transfer": application.pk,
        "programme": world["programme"].code,
        "items": [{"item": item.pk, "course": world["courses"][0].code}],
        "submitted_at": body_of(applied)["data"]["submitted_at"],
    }
    assert body_of(decided)["type"] == "transfer.decided"
    assert body_of(decided)["data"]["decision"] == "accept"
    assert body_of(decided)["data"]["state"] == "accepted"
    # Nothing of the learner's person: no name, no account number.
    for delivery in (applied, decided):
        assert learner.name not in delivery.body
        assert world["account"].number not in delivery.body


def test_only_the_subscribed_event_types_are_written(transfer_world, learner, university_admin):
    subscribe(university_admin, events=["certificate.revoked"])
    world = transfer_world

    transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], world["outcome"])],
        actor=learner,
    )

    assert not WebhookDelivery.objects.exists()


def test_a_revocation_tells_the_institution_of_the_transfer_resting_on_it(
    transfer_world, learner, university_admin, management_admin
):
    world = transfer_world
    application = transfer_apply(
        account=world["account"],
        programme=world["programme"],
        items=[(world["courses"][0], world["outcome"])],
        actor=learner,
    )
    subscribe(university_admin, events=["certificate.revoked"])

    accreditation_revoke(
        decision=world["outcome"].applications.get().decision,
        actor=management_admin,
        reason_code="evidence_false",
        reason="证书系伪造",
    )

    [delivery] = WebhookDelivery.objects.all()
    body = body_of(delivery)
    assert body["type"] == "certificate.revoked"
    assert body["data"]["outcome"] == world["outcome"].pk
    assert body["data"]["reason_code"] == "evidence_false"
    assert body["data"]["transfer_items"] == [application.items.get().pk]
    assert "证书系伪造" not in delivery.body  # the free-text reason stays inside


@pytest.mark.parametrize("accept", [True, False])
def test_an_answered_invitation_is_told_to_the_institution(institution_admin, learner, accept):
    collective: Any = CollectiveAccountFactory(
        institution=institution_admin.institution, opened_by=institution_admin
    )
    membership = CollectiveMembership.objects.create(
        collective=collective,
        member=PersonalAccountFactory(holder=learner),
        added_by=institution_admin,
        status=CollectiveMembership.Status.INVITED,
    )
    subscribe(institution_admin)

    answer = collective_invitation_accept if accept else collective_invitation_decline
    answer(membership=membership, actor=learner)

    [delivery] = WebhookDelivery.objects.all()
    assert body_of(delivery)["type"] == "member_invitation.answered"
    assert body_of(delivery)["data"]["membership"] == membership.pk
    assert body_of(delivery)["data"]["answer"] == ("accepted" if accept else "declined")


@pytest.mark.parametrize("confirm", [True, False])
def test_a_members_answer_to_a_reported_result_is_told_to_the_institution(
    institution_admin, learner, confirm
):
    collective: Any = CollectiveAccountFactory(
        institution=institution_admin.institution, opened_by=institution_admin
    )
    batch = InstitutionBatch.objects.create(
        collective=collective,
        uploaded_by=institution_admin,
        title="幼儿园园长任职资格培训",
        filename="results.csv",
        rows=1,
        evidence_files=0,
    )
    outcome = LearningOutcomeFactory(
        account=PersonalAccountFactory(holder=learner),
        batch=batch,
        status=LearningOutcome.Status.PENDING_CONFIRMATION,
    )
    subscribe(institution_admin)

    (outcome_confirm if confirm else outcome_decline)(outcome=outcome, actor=learner)

    [delivery] = WebhookDelivery.objects.all()
    assert body_of(delivery)["type"] == (
        "batch_result.confirmed" if confirm else "batch_result.declined"
    )
    assert body_of(delivery)["data"]["batch"] == batch.pk
    assert body_of(delivery)["data"]["outcome"] == outcome.pk


def test_the_worker_is_queued_only_once_the_change_commits(
    institution_admin, django_capture_on_commit_callbacks
):
    subscribe(institution_admin)

    with django_capture_on_commit_callbacks() as callbacks:
        webhook_event_record(
            institution_id=institution_admin.institution_id,
            event_type=WebhookEventType.TRANSFER_APPLIED,
            data={"transfer": 1},
        )

    assert len(callbacks) == 1


# --- Sending -------------------------------------------------------------------------------------


def recorded(admin) -> WebhookDelivery:
    [delivery] = webhook_event_record(
        institution_id=admin.institution_id,
        event_type=WebhookEventType.TRANSFER_APPLIED,
        data={"transfer": 7},
    )
    return delivery


def test_a_message_reaches_the_receiver_signed_and_is_marked_delivered(institution_admin, receiver):
    _subscription, secret = subscribe(institution_admin, url=receiver.url)
    receiver.received.secret = secret
    delivery = recorded(institution_admin)

    assert webhook_deliver(message_id=delivery.message_id) == "delivered"

    delivery.refresh_from_db()
    assert receiver.received.refused == []
    payload = receiver.received.messages[delivery.message_id]
    assert payload["type"] == "transfer.applied"
    assert payload["data"] == {"transfer": 7}
    assert set(payload) == {"type", "timestamp", "data"}
    assert (delivery.attempts, delivery.last_status_code) == (1, 204)
    assert delivery.next_attempt_at is None
    # Sent, it is not sent again by a second task or the periodic re-send.
    assert webhook_deliver(message_id=delivery.message_id) == "skipped"
    assert webhook_deliveries_resend() == []


def test_a_failing_receiver_gets_retries_later_and_later_then_failed_and_a_replay_keeps_the_id(
    settings, institution_admin, receiver
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_BASE_SECONDS = 100
    settings.WEBHOOK_RETRY_CAP_SECONDS = 150
    _subscription, secret = subscribe(institution_admin, url=receiver.url)
    receiver.received.secret = secret
    receiver.received.answer = 500
    delivery = recorded(institution_admin)
    waits = []

    for _ in range(3):
        before = timezone.now()
        status = webhook_deliver(message_id=delivery.message_id)
        delivery.refresh_from_db()
        if delivery.next_attempt_at is not None:
            waits.append((delivery.next_attempt_at - before).total_seconds())
            # Not due yet: neither a second task nor the re-send sends it.
            assert webhook_deliver(message_id=delivery.message_id) == "skipped"
            assert webhook_deliveries_resend() == []
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )

    assert status == "failed"
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    assert 50 <= waits[0] <= 101  # 100 s, with jitter down to half
    assert 75 <= waits[1] <= 151  # 200 s, capped at 150
    assert delivery.next_attempt_at is None

    receiver.received.answer = 204
    webhook_delivery_replay(delivery=delivery, actor=institution_admin)
    assert webhook_deliver(message_id=delivery.message_id) == "delivered"

    ids = {post["webhook-id"] for post in receiver.received.posts}
    assert ids == {delivery.message_id}  # the same id on every retry and on the replay
    assert len(receiver.received.posts) == 4


def test_the_backoff_doubles_up_to_the_cap_with_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_CAP_SECONDS = 3600
    for attempts, full in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        for _ in range(20):
            assert full / 2 <= retry_delay(attempts).total_seconds() <= full


def test_a_receiver_that_is_down_leaves_the_message_pending_and_due_again(
    settings, institution_admin
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    subscribe(institution_admin, url=f"http://127.0.0.1:{free_port()}/hooks")
    delivery = recorded(institution_admin)

    assert webhook_deliver(message_id=delivery.message_id) == "pending"

    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert delivery.last_error  # connection refused
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_deliveries_resend() == [delivery.message_id]


def test_the_delivery_log_shows_status_attempts_and_code_and_replays(
    client, institution_admin, receiver
):
    subscription, secret = subscribe(institution_admin, url=receiver.url)
    receiver.received.secret = secret
    receiver.received.answer = 410
    delivery = recorded(institution_admin)
    webhook_deliver(message_id=delivery.message_id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    log = client.get(f"/institutions/{pk}/webhooks/").content.decode()
    row = log[log.index(f'data-message-id="{delivery.message_id}"') :].split("</tr>")[0]
    assert 'data-status="failed"' in row
    assert "<td>1</td>" in row
    assert "<td>410</td>" in row

    replay = client.post(f"/institutions/{pk}/webhooks/deliveries/{delivery.pk}/replay/")
    delivery.refresh_from_db()
    assert replay["Location"] == f"/institutions/{pk}/webhooks/{subscription.pk}/"
    assert (delivery.status, delivery.attempts, delivery.replays) == ("pending", 0, 1)


def test_with_the_default_settings_a_message_is_tried_for_one_to_two_days(settings):
    # What the list page and docs/configuration.md promise.
    assert settings.WEBHOOK_MAX_ATTEMPTS == 18
    waits = [retry_delay(n).total_seconds() for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    day = 24 * 3600
    assert 1 * day <= sum(waits) <= 2.2 * day


def test_the_member_list_leads_the_admin_to_the_webhooks(client, institution_admin, collective):
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id

    page = client.get(f"/institutions/{pk}/members/").content.decode()

    assert f'href="/institutions/{pk}/webhooks/"' in page


# --- Over the API --------------------------------------------------------------------------------


def test_the_api_adds_a_webhook_answers_its_secret_once_and_shows_the_log(
    api_client, institution_admin, settings
):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    api_client.force_authenticate(institution_admin)
    base = f"/api/v1/institutions/{institution_admin.institution_id}/webhooks/"

    metadata = {"url": "https://169.254.169.254/", "event_types": ["transfer.applied"]}
    refused = api_client.post(base, metadata, format="json")
    created = api_client.post(
        base, {"url": PUBLIC, "event_types": ["transfer.applied"]}, format="json"
    )
    listed = api_client.get(base)

    assert refused.status_code == 400
    assert list(refused.json()) == ["url"]
    assert created.status_code == 201
    secret = created.json()["secret"]
    subscription = WebhookSubscription.objects.get()
    assert secret == webhook_secret_of(subscription)
    assert listed.json() == [
        {k: v for k, v in created.json().items() if k != "secret"}
    ]  # the secret is not answered again

    changed = api_client.patch(
        f"{base}{subscription.pk}/", {"event_types": ["transfer.decided"]}, format="json"
    )
    assert changed.json()["event_types"] == ["transfer.decided"]
    assert changed.json()["url"] == PUBLIC

    [delivery] = webhook_event_record(
        institution_id=institution_admin.institution_id,
        event_type=WebhookEventType.TRANSFER_DECIDED,
        data={"item": 1},
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=18)
    log = api_client.get(f"{base}deliveries/").json()["results"]
    replayed = api_client.post(f"{base}deliveries/{delivery.pk}/replay/")

    assert [(d["message_id"], d["status"], d["attempts"]) for d in log] == [
        (delivery.message_id, "failed", 18)
    ]
    assert replayed.json()["message_id"] == delivery.message_id
    assert (replayed.json()["status"], replayed.json()["replays"]) == ("pending", 1)
    rotated = api_client.post(f"{base}{subscription.pk}/rotate/")
    assert rotated.json()["secret"] not in (secret, "")
    assert api_client.delete(f"{base}{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


# --- Two workers at once -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_the_same_message_at_once_post_it_once(
    postgres, institution_admin, monkeypatch
):
    """The on-commit task and beat's re-send can start the same row together: the conditional
    update lets one of them post it."""
    # The suite's Celery is eager: the on-commit task would send each row before the race.
    monkeypatch.setattr(webhook_services, "_enqueue", lambda message_id: None)
    received = Received(secret="")
    slow = Receiver(received)
    _subscription, received.secret = subscribe(institution_admin, url=slow.url)
    deliveries = [recorded(institution_admin) for _ in range(5)]
    start = threading.Barrier(2)
    results: list[str] = []

    def worker(message_id: str) -> None:
        try:
            start.wait()
            results.append(webhook_deliver(message_id=message_id))
        finally:
            connection.close()

    try:
        for delivery in deliveries:
            threads = [
                threading.Thread(target=worker, args=(delivery.message_id,)) for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        slow.stop()

    assert sorted(results) == ["delivered"] * 5 + ["skipped"] * 5
    assert len(received.posts) == 5
    assert set(received.messages) == {d.message_id for d in deliveries}


# --- A slow receiver, a claim that ran out, an inactive webhook -----------------------------------


class Trickler:
    """A receiver that reads the request, then sends a 204 one byte every 0.1 s over about
    6 s: each read gets a byte well within any per-read timeout."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.finished = False  # the whole answer went out
        self.cut_off = False  # the sender hung up before it was done
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _address = self.server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            head, body = request.split(b"\r\n\r\n", 1)
            found = re.search(rb"content-length: *(\d+)", head, re.I)
            length = int(found[1]) if found else 0
            while len(body) < length:
                body += conn.recv(65536)
            answer = b"HTTP/1.1 204 No Content\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n"
            try:
                for i in range(len(answer)):
                    conn.sendall(answer[i : i + 1])
                    time.sleep(0.1)
                self.finished = True
            except OSError:
                self.cut_off = True

    def stop(self) -> None:
        self.thread.join(timeout=15)
        self.server.close()


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_attempts_deadline(
    settings, institution_admin
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1  # per attempt in all; the claim holds it for 3 s
    trickler = Trickler()
    subscribe(institution_admin, url=f"http://127.0.0.1:{trickler.port}/hooks")
    delivery = recorded(institution_admin)

    try:
        status = webhook_deliver(message_id=delivery.message_id)
    finally:
        trickler.stop()

    delivery.refresh_from_db()
    assert status == "pending"
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert "1 s" in delivery.last_error
    assert trickler.cut_off
    assert not trickler.finished
    assert delivery.claimed_until is None  # free for the next attempt


def test_a_worker_whose_claim_ran_out_does_not_overwrite_the_newer_result(
    institution_admin, monkeypatch
):
    """The first worker's receiver is slow; its claim runs out, the re-send gives the row to
    a second worker, which delivers it; then the first one's attempt ends in an error."""
    subscribe(institution_admin)
    delivery = recorded(institution_admin)
    posts = []

    def post(target, body, headers):
        posts.append(target)
        if len(posts) == 1:  # the first worker, still waiting: its claim runs out
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                claimed_until=timezone.now() - timedelta(seconds=1)
            )
            assert webhook_deliver(message_id=delivery.message_id) == "delivered"  # the second
            return None, "timed out"
        return 204, ""

    monkeypatch.setattr(webhook_services, "_post", post)

    assert webhook_deliver(message_id=delivery.message_id) == "skipped"

    delivery.refresh_from_db()
    assert len(posts) == 2
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "delivered",
        204,
        "",
    )
    assert delivery.attempts == 1
    assert delivery.next_attempt_at is None


def test_nothing_more_goes_to_a_webhook_the_admin_made_inactive(
    settings, institution_admin, receiver
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    subscription, receiver.received.secret = subscribe(institution_admin, url=receiver.url)
    receiver.received.answer = 500
    delivery = recorded(institution_admin)
    assert webhook_deliver(message_id=delivery.message_id) == "pending"  # a retry is due later
    webhook_subscription_update(
        subscription=subscription,
        actor=institution_admin,
        url=subscription.url,
        event_types=subscription.event_types,
        is_active=False,
    )
    receiver.received.answer = 204
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    assert webhook_deliver(message_id=delivery.message_id) == "failed"

    delivery.refresh_from_db()
    assert len(receiver.received.posts) == 1  # only the attempt before it was made inactive
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert delivery.last_error
    assert webhook_deliveries_resend() == []


def test_the_webhooks_page_says_enabled_and_leads_back_to_the_members(
    client, institution_admin, collective
):
    login_verified(client, institution_admin)
    pk = institution_admin.institution_id
    name = institution_admin.institution.name

    page = client.get(f"/institutions/{pk}/webhooks/").content.decode()

    # The on/off switch is 启用 (not the status word 正常), the heading has no stray spaces.
    assert "启用" in page
    assert "正常" not in page
    assert f"<h1>{name}的Webhook</h1>" in page
    assert f'href="/institutions/{pk}/members/" data-testid="back-to-members"' in page


def test_a_host_name_that_cannot_be_resolved_is_said_so(
    client, institution_admin, settings, monkeypatch
):
    import socket

    def unresolved(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolved)
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    login_verified(client, institution_admin)

    answer = client.post(
        f"/institutions/{institution_admin.institution_id}/webhooks/",
        {"url": "https://hooks.example.invalid/x", "event_types": ["transfer.applied"]},
    )

    assert answer.status_code == 400
    assert "无法解析该网址的域名。" in answer.content.decode()
    assert not WebhookSubscription.objects.exists()
