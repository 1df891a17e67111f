"""Tasks sent after the commit of the transaction that wrote their job row, never failing it.

The row in the database is the promise; the message is only the fast path. When the broker
cannot be reached (Redis restarting, a network fault), sending raises after the commit, which
used to turn a stored response or a queued export into a 500 answer. Here the failure is
logged and the request answers normally: each kind of job has a beat sweeper that sends again
what was never sent (config.jobs.Job.sweep, surveys emails_send_due and
webhooks_deliver_due, the export and matching-run sweepers).
"""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)
# Fail fast in a request: one quick retry, then leave it to the sweeper.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def send_now(task, args=(), **options) -> bool:
    """Send `task` now; False (logged) when the broker is unreachable."""
    from kombu.exceptions import OperationalError

    if task.app.conf.task_always_eager:  # in-process: the task runs here; its own errors are its own
        task.apply_async(args=list(args), **options)
        return True
    try:
        task.apply_async(args=list(args), retry_policy=RETRY_POLICY, **options)
    except (OperationalError, OSError) as exc:
        log.warning("%s%s not sent (the broker is unreachable; its sweeper will send it): %s", task.name, args, exc)
        return False
    return True


def send_on_commit(task, args=(), **options) -> None:
    """Send `task` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(task, args, **options))
