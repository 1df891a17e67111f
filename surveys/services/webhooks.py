"""Webhooks: tell a survey's endpoints about stored and changed responses.

Each (endpoint, event id) is one WebhookDelivery row, so an event is recorded
once however often it is raised. A delivery is claimed with a conditional
UPDATE that also pushes next_attempt_at forward (a lease), so two workers never
post one attempt at once, and a worker that dies mid-attempt only delays the
retry. Receivers must still expect an event more than once (the network can
lose the answer to a successful POST): the X-Kelu-Event-Id header is stable.

Attempts: 2xx delivered; network errors, timeouts, 408, 429 and 5xx are retried
after WEBHOOK_BACKOFF_SECONDS * 2**(attempt - 1) up to WEBHOOK_MAX_ATTEMPTS;
any other answer fails the delivery at once. Every attempt appends one line
(time, attempt, HTTP status or error) to the row's last_error, the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.enqueue import send_on_commit
from config.outbound import AddressRefused, public_opener

from ..models import Response, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

EVENTS = ("response.created", "response.updated")
Status = WebhookDelivery.Status
_LOG_LINES = 50
_RETRY_CODES = {408, 429}


# Which surveys have an active endpoint, kept per process: the submission path asks on every
# response, and almost always the answer is "none". The set is read in one query at most once
# per WEBHOOK_ENDPOINT_CACHE_SECONDS; saving or deleting an endpoint clears it in the process
# that did it (a signal: cache invalidation only), and a catch-up run after the cache period
# (webhook_catch_up) records the events other processes could not see yet, so none is lost.
_endpoint_surveys: dict[str, Any] = {}

_REFUSED = "AddressRefused"


def forget_webhook_endpoints() -> None:
    _endpoint_surveys.clear()


def surveys_with_webhooks() -> frozenset[int]:
    now = time.monotonic()
    if _endpoint_surveys.get("until", 0.0) <= now:
        ids = WebhookEndpoint.objects.filter(is_active=True).values_list("survey_id", flat=True).distinct()
        _endpoint_surveys["ids"] = frozenset(ids)
        _endpoint_surveys["until"] = now + settings.WEBHOOK_ENDPOINT_CACHE_SECONDS
    return _endpoint_surveys["ids"]


def response_event(*, response: Response, event: str) -> list[int]:
    """Record the event for every active endpoint of the response's survey; deliveries start on commit."""
    assert event in EVENTS, event
    if response.survey_id not in surveys_with_webhooks():
        return []
    endpoints = [
        e for e in WebhookEndpoint.objects.filter(survey_id=response.survey_id, is_active=True) if event in e.events
    ]
    return _events_record(endpoints=endpoints, response=response, event=event)


def _events_record(*, endpoints: list[WebhookEndpoint], response: Response, event: str) -> list[int]:
    if not endpoints:
        return []
    event_id = f"{response.instance_id}:{response.content_hash}"[:64]
    payload = _payload(response=response, event=event, event_id=event_id)
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(endpoint=e, event=event, event_id=event_id, payload=payload, next_attempt_at=now)
                for e in endpoints
            ],
            ignore_conflicts=True,  # the same event raised twice is one delivery
        )
        ids = list(
            WebhookDelivery.objects.filter(
                endpoint__in=endpoints, event_id=event_id, status=Status.PENDING
            ).values_list("pk", flat=True)
        )
        from ..tasks import webhook_deliver

        for pk in ids:  # a delivery not sent now is sent by webhooks_deliver_due
            send_on_commit(webhook_deliver, [pk])
    return ids


def webhook_endpoint_saved(*, endpoint: WebhookEndpoint) -> None:
    """After an endpoint is created or (re)activated: catch up, once every process sees it, on the
    responses stored meanwhile (their events are recorded once: the event id decides)."""
    forget_webhook_endpoints()
    if not endpoint.is_active:
        return
    from ..tasks import webhook_catch_up

    since = timezone.now() - timedelta(seconds=1)
    delay = settings.WEBHOOK_ENDPOINT_CACHE_SECONDS + 2
    send_on_commit(webhook_catch_up, [endpoint.pk, since.isoformat()], countdown=delay)


def webhook_catch_up(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Record the events of the survey's responses stored or changed since `since` for this endpoint."""
    if not endpoint.is_active:
        return 0
    recorded = 0
    responses = Response.objects.filter(survey_id=endpoint.survey_id, updated_at__gte=since).select_related(
        "survey", "version", "wave"
    )
    for response in responses.order_by("pk").iterator(chunk_size=500):
        event = "response.created" if response.created_at >= since else "response.updated"
        if event in endpoint.events:
            recorded += len(_events_record(endpoints=[endpoint], response=response, event=event))
    return recorded


def webhook_deliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> str:
    """One attempt, if the delivery is pending and due; returns the status after it."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
    # The claim: only one worker gets a due attempt; the lease keeps the row from
    # being picked again while the POST is in flight.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, next_attempt_at__lte=now, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, next_attempt_at=lease)
    if not claimed:
        return WebhookDelivery.objects.filter(pk=delivery.pk).values_list("status", flat=True).first() or ""
    delivery.refresh_from_db()
    code, error = _post(delivery)
    return _record(delivery=delivery, code=code, error=error, now=now)


def webhooks_deliver_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Attempt every pending delivery whose time has come (retries, and any lost enqueue)."""
    due = WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now or timezone.now())
    done = 0
    for delivery in due.select_related("endpoint").order_by("next_attempt_at")[:limit]:
        webhook_deliver(delivery=delivery, now=now)
        done += 1
    return done


def webhook_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _payload(*, response: Response, event: str, event_id: str) -> dict[str, Any]:
    data = {
        "id": event_id,
        "event": event,
        "survey": response.survey.slug,
        "response": {
            "instance_id": str(response.instance_id),
            "version": response.version.number,
            "wave": response.wave.slug if response.wave_id else None,
            "status": response.status,
            "language": response.language,
            "answers": response.answers,
            "created_at": response.created_at,
            "updated_at": response.updated_at,
            "submitted_at": response.submitted_at,
        },
    }
    # Through JSON once, so dates are strings and the stored payload is what is sent.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    request = urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Kelu-Webhooks/1",
            "X-Kelu-Event": delivery.event,
            "X-Kelu-Event-Id": delivery.event_id,
            "X-Kelu-Timestamp": str(int(timezone.now().timestamp())),
            "X-Kelu-Signature": webhook_signature(secret=delivery.endpoint.secret, body=body),
        },
    )
    try:
        # public addresses only, checked on the connection itself (config/outbound.py)
        with public_opener().open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, AddressRefused):  # the URL leads inside the network: never retried
            return None, f"{_REFUSED}: {exc.reason}"[:500]
        return None, f"{type(exc).__name__}: {exc}"[:500]
    except (OSError, ValueError) as exc:  # refused, reset, timeout, DNS, bad URL
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _record(*, delivery: WebhookDelivery, code: int | None, error: str, now: datetime) -> str:
    attempt = delivery.attempts
    retry = (
        (code is None and not error.startswith(_REFUSED)) or (code is not None and code >= 500) or code in _RETRY_CODES
    )
    if code is not None and 200 <= code < 300:
        status, next_at = Status.DELIVERED, now
    elif retry and attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        status, next_at = Status.PENDING, now + timedelta(seconds=settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))
    else:
        status, next_at = Status.FAILED, now
    line = f"{now.isoformat()} attempt {attempt}: " + (f"HTTP {code}" if code is not None else error)
    history = "\n".join([*delivery.last_error.splitlines(), line][-_LOG_LINES:])
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=attempt).update(
        status=status,
        next_attempt_at=next_at,
        last_status_code=code,
        last_error=history,
        delivered_at=now if status == Status.DELIVERED else None,
    )
    log.info("webhook %s %s attempt %s: %s -> %s", delivery.event, delivery.endpoint.url, attempt, line, status)
    return status
