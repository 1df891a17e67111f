"""Celery tasks: thin adapters that take ids, re-fetch, and call a service (all idempotent)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError

from config.jobs import run_job_task

from .models import MatchRun, ObligationRecompute
from .services import lifecycle, matching, messages, obligations, registry


@shared_task(name="diaspora.matching_nightly")
def matching_nightly() -> dict:
    return matching.matching_nightly().stats


@shared_task(
    name="diaspora.matching_run", bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def matching_run(self, run_id: int) -> str:
    def run(pk: int) -> str:
        found = MatchRun.objects.filter(pk=pk).first()
        status = matching.matching_run(run=found).status if found else "missing"
        return "" if status == MatchRun.Status.RUNNING else status  # held by another worker

    return run_job_task(self, MatchRun, run_id, run) or MatchRun.Status.RUNNING


@shared_task(name="diaspora.matching_runs_sweep")
def matching_runs_sweep() -> list[int]:
    return matching.matching_runs_sweep()


@shared_task(name="diaspora.matches_expire_due")
def matches_expire_due() -> dict:
    return asdict(lifecycle.matches_expire_due())


@shared_task(name="diaspora.people_warn_stale")
def people_warn_stale() -> dict:
    return asdict(registry.people_warn_stale())


@shared_task(name="diaspora.message_notify")
def message_notify(message_id: int) -> bool:
    return messages.message_notify(message_id=message_id)


@shared_task(name="diaspora.messages_notify_due")
def messages_notify_due() -> dict:
    return asdict(messages.messages_notify_due())


@shared_task(name="diaspora.obligations_nightly")
def obligations_nightly() -> dict:
    """The night's recompute job (created once per day, then run by its own task)."""
    job = obligations.obligations_recompute_request()
    return {"job": job.pk, "key": job.key}


@shared_task(
    name="diaspora.obligations_recompute_run",
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def obligations_recompute_run(self, job_id: int) -> bool:
    return run_job_task(self, ObligationRecompute, job_id, obligations.obligations_recompute_run)


@shared_task(name="diaspora.obligations_recompute_sweep")
def obligations_recompute_sweep() -> list[int]:
    return obligations.obligations_recompute_sweep()


@shared_task(name="diaspora.obligations_digest")
def obligations_digest() -> dict:
    return asdict(obligations.obligations_digest())


@shared_task(name="diaspora.obligations_from_responses")
def obligations_from_responses() -> int:
    return obligations.episodes_from_recent_responses()
