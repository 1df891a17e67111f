"""Celery tasks: thin adapters that take ids, re-fetch, and call a service.

Every one is idempotent (see the services), so late acknowledgement and
redelivery after a lost worker are safe.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from celery import shared_task
from django.db import OperationalError

from config.jobs import run_job_task

from .models import InvitationSendJob, Wave, WebhookDelivery, WebhookEndpoint
from .services import invitations, waves, webhooks


@shared_task(name="surveys.wave_invite")
def wave_invite(wave_id: int) -> dict:
    wave = Wave.objects.filter(pk=wave_id).first()
    return asdict(invitations.wave_invite(wave=wave)) if wave else {}


# A "send invitations" run is mail work: settings route "surveys.invitation_send_*" to the bulk queue
# and sweep its jobs with the beat ("surveys.invitation_send_sweep").
@shared_task(
    name="surveys.invitation_send_run", bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def invitation_send_run(self, job_id: int) -> bool:
    return bool(run_job_task(self, InvitationSendJob, job_id, waves.invitation_send_run))


@shared_task(name="surveys.invitation_send_sweep")
def invitation_send_sweep() -> list[int]:
    return waves.invitation_send_sweep()


@shared_task(name="surveys.emails_send_due")
def emails_send_due() -> dict:
    return asdict(invitations.emails_send_due())


@shared_task(name="surveys.emails_sweep_stale")
def emails_sweep_stale() -> dict:
    return asdict(invitations.emails_sweep_stale())


@shared_task(name="surveys.webhook_deliver")
def webhook_deliver(delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    return webhooks.webhook_deliver(delivery=delivery) if delivery else ""


@shared_task(name="surveys.webhook_catch_up")
def webhook_catch_up(endpoint_id: int, since: str) -> int:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    return webhooks.webhook_catch_up(endpoint=endpoint, since=datetime.fromisoformat(since)) if endpoint else 0


@shared_task(name="surveys.webhooks_deliver_due")
def webhooks_deliver_due() -> int:
    return webhooks.webhooks_deliver_due()
