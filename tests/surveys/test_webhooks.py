"""Webhooks on stored and changed responses, posted to a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from surveys import tasks
from surveys.models import WebhookDelivery, WebhookEndpoint
from surveys.services import response_submit, response_update, survey_import_xlsform
from surveys.services.webhooks import webhooks_deliver_due
from tests.factories import simple_form_rows, xlsform

SECRET = "whsec-test-9f2c"
ANSWERS = {"age": 30, "abroad": "yes", "city": "Berlin"}
Status = WebhookDelivery.Status


class Receiver:
    """An HTTP endpoint in a thread: answers with the next queued status, records what it got."""

    def __init__(self):
        self.answers: list[int] = []
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                receiver.received.append(
                    {
                        "headers": dict(self.headers),
                        "body": json.loads(body),
                        "signed": hmac.compare_digest(self.headers.get("X-Kelu-Signature", ""), expected),
                    }
                )
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/kelu"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on loopback
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def version(db):
    survey, choices = simple_form_rows()
    result = survey_import_xlsform(
        data=xlsform(survey, choices, {"form_id": "hooks", "form_title": "Hooks"}), filename="h.xlsx", publish=True
    )
    return result.version


@pytest.fixture
def endpoint(version, receiver):
    return WebhookEndpoint.objects.create(
        survey=version.survey, url=receiver.url, secret=SECRET, events=["response.created", "response.updated"]
    )


def submit(version, respondent, status="complete", instance_id=None, answers=ANSWERS):
    return response_submit(
        version=version,
        respondent=respondent,
        instance_id=instance_id or uuid.uuid4(),
        status=status,
        answers=answers,
        language="en",
    )


def test_a_stored_response_is_posted_signed(
    endpoint, receiver, respondent, version, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        response, _ = submit(version, respondent)
    [delivery] = WebhookDelivery.objects.all()
    assert len(enqueued) == 1  # the task is enqueued only once the response is committed

    assert tasks.webhook_deliver(delivery.pk) == Status.DELIVERED

    [post] = receiver.received
    assert post["signed"]
    assert post["headers"]["X-Kelu-Event"] == "response.created"
    assert post["headers"]["X-Kelu-Event-Id"] == delivery.event_id
    assert post["headers"]["X-Kelu-Event-Id"].startswith(str(response.instance_id))
    assert abs(int(post["headers"]["X-Kelu-Timestamp"]) - timezone.now().timestamp()) < 60
    assert post["body"]["response"]["answers"] == ANSWERS
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (1, 200) and delivery.delivered_at


def test_a_resend_of_the_same_response_is_no_new_event(endpoint, respondent, version):
    instance_id = uuid.uuid4()
    submit(version, respondent, instance_id=instance_id)
    submit(version, respondent, instance_id=instance_id)
    assert WebhookDelivery.objects.count() == 1


def test_a_change_is_an_updated_event_and_no_change_is_none(endpoint, respondent, version):
    response, _ = submit(version, respondent, status="partial", answers={"age": 30})
    response_update(response=response, status="partial", answers={"age": 30})
    response_update(response=response, status="complete", answers=ANSWERS)
    assert sorted(WebhookDelivery.objects.values_list("event", flat=True)) == ["response.created", "response.updated"]


@pytest.mark.parametrize("event", ["response.created", "response.updated"])
def test_a_response_is_not_stored_without_its_event(endpoint, respondent, version, monkeypatch, event):
    """The database lost between the response and its event rows: neither is kept."""
    from django.db import OperationalError

    response, _ = submit(version, respondent, status="partial", answers={"age": 30})
    before = response.content_hash

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(WebhookDelivery.objects, "bulk_create", lost)
    with pytest.raises(OperationalError):
        if event == "response.created":
            submit(version, respondent, instance_id=uuid.uuid4())
        else:
            response_update(response=response, status="complete", answers=ANSWERS)
    monkeypatch.undo()
    assert list(version.survey.responses.values_list("content_hash", flat=True)) == [before]
    assert list(WebhookDelivery.objects.values_list("event", flat=True)) == ["response.created"]


def test_only_active_endpoints_for_the_event_are_told(endpoint, respondent, version, receiver):
    WebhookEndpoint.objects.create(survey=version.survey, url=receiver.url, secret="s", is_active=False)
    WebhookEndpoint.objects.create(survey=version.survey, url=receiver.url, secret="s", events=["response.updated"])
    submit(version, respondent)
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]


def test_a_server_error_is_retried_with_backoff_and_every_attempt_is_logged(
    settings, endpoint, receiver, respondent, version
):
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    receiver.answers = [500, 503]
    submit(version, respondent)
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()

    assert webhooks_deliver_due(now=start) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.PENDING, 1, 500)
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert webhooks_deliver_due(now=start + timedelta(seconds=29)) == 0

    webhooks_deliver_due(now=start + timedelta(seconds=30))
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == start + timedelta(seconds=30 + 60)

    webhooks_deliver_due(now=start + timedelta(seconds=90))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.DELIVERED, 3, 200)
    log = delivery.last_error.splitlines()
    assert [line.split(": ", 1)[1] for line in log] == ["HTTP 500", "HTTP 503", "HTTP 200"]
    assert len(receiver.received) == 3 and all(post["signed"] for post in receiver.received)
    assert {post["headers"]["X-Kelu-Event-Id"] for post in receiver.received} == {delivery.event_id}


def test_a_delivery_fails_after_the_last_attempt(settings, endpoint, receiver, respondent, version):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_BACKOFF_SECONDS = 2, 1
    receiver.answers = [500, 500, 500]
    submit(version, respondent)
    later = timezone.now() + timedelta(hours=1)
    webhooks_deliver_due()
    webhooks_deliver_due(now=later)
    assert webhooks_deliver_due(now=later + timedelta(hours=1)) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 2)


def test_a_client_error_fails_at_once(endpoint, receiver, respondent, version):
    receiver.answers = [410]
    submit(version, respondent)
    webhooks_deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 1, 410)


def test_an_unreachable_endpoint_is_retried(endpoint, respondent, version):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/closed")
    submit(version, respondent)
    webhooks_deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.PENDING, None)
    assert "attempt 1: URLError" in delivery.last_error


def test_a_delivery_is_not_posted_twice_at_once(endpoint, receiver, respondent, version):
    submit(version, respondent)
    delivery = WebhookDelivery.objects.get()
    assert tasks.webhook_deliver(delivery.pk) == Status.DELIVERED
    assert tasks.webhook_deliver(delivery.pk) == Status.DELIVERED  # a duplicate task finds it done
    assert len(receiver.received) == 1


# --------------------------------------------------------------------------- public addresses only


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.9/hook",
        "http://192.168.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
        "ftp://203.0.113.10/hook",
    ],
)
def test_an_endpoint_inside_the_network_is_refused_when_saved(version, url):
    from django.core.exceptions import ValidationError

    endpoint = WebhookEndpoint(survey=version.survey, url=url, secret=SECRET, events=["response.created"])
    with pytest.raises(ValidationError) as refused:
        endpoint.full_clean()
    assert "url" in refused.value.message_dict


def test_a_public_endpoint_is_accepted(version):
    WebhookEndpoint(
        survey=version.survey, url="https://8.8.8.8/hooks/kelu", secret=SECRET, events=["response.created"]
    ).full_clean()


def test_a_delivery_to_an_address_inside_the_network_is_never_sent(settings, version, respondent):
    receiver = Receiver()  # on loopback, and private addresses are not allowed (the default)
    try:
        assert settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES is False
        WebhookEndpoint.objects.create(  # a row written around the form's check
            survey=version.survey, url=receiver.url, secret=SECRET, events=["response.created"]
        )
        submit(version, respondent)
        webhooks_deliver_due()
        delivery = WebhookDelivery.objects.get()
        assert receiver.received == []
        assert delivery.status == Status.FAILED and delivery.attempts == 1  # not retried: it would never be sent
        assert "not a public address" in delivery.last_error
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_a_redirect_into_the_network_is_not_followed(settings, version, respondent, monkeypatch):
    """The first address is taken for a public one; its redirect to another address is an
    answer (a failed delivery), never followed."""
    import config.outbound

    hits = []

    class Inner(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    inner = ThreadingHTTPServer(("127.0.0.2", 0), Inner)
    threading.Thread(target=inner.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    class Outer(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{inner.server_port}/metadata")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    outer = ThreadingHTTPServer(("127.0.0.1", 0), Outer)
    threading.Thread(target=outer.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setattr(config.outbound, "is_public", lambda address: address == "127.0.0.1")
    try:
        WebhookEndpoint.objects.create(
            survey=version.survey,
            url=f"http://127.0.0.1:{outer.server_port}/hook",
            secret=SECRET,
            events=["response.created"],
        )
        submit(version, respondent)
        webhooks_deliver_due()
        delivery = WebhookDelivery.objects.get()
        assert hits == []
        assert (delivery.status, delivery.last_status_code) == (Status.FAILED, 302)
    finally:
        for server in (inner, outer):
            server.shutdown()
            server.server_close()
