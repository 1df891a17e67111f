"""The job row every background job of the platform stands on: survey exports, matching runs,
aggregation, research exports and invitation batches.

The row, not the broker, is the promise. A job is created ``queued`` and enqueued on
commit; a worker *claims* it with one conditional UPDATE, which succeeds only when the
row is queued or its lease has expired (its worker died). While it runs the worker renews
its lease with every progress report. A message that finds the row held under a live
lease (a redelivery after its first worker was killed: Celery puts the message back at
once, while the dead worker's lease still runs) waits for the lease to end and looks again
(``run_job_task``): it takes the job over if nobody renewed the lease, and stops if the job
finished. A beat sweeper (``Job.sweep``) re-enqueues rows whose lease expired and rows
that were never enqueued (the process died between commit and enqueue). ``run()`` of a
concrete job recomputes and upserts, so running it twice is harmless.

A table may keep its own words for the statuses (``Status`` with the members QUEUED,
RUNNING, COMPLETE and ERROR): every rule here reads them from the concrete model.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any, ClassVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enqueue import send_now

logger = logging.getLogger(__name__)


# A queued row whose message was never sent (enqueued_at empty) is sent by the sweeper
# after this long: the send happens on commit, which may still be on its way.
SEND_AGAIN_AFTER = dt.timedelta(minutes=1)


def lease_seconds() -> int:
    return int(getattr(settings, "JOB_LEASE_SECONDS", 120))


class Job(models.Model):
    """Abstract: status, progress, error, timing and a lease renewed by the worker that holds it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETE = "complete", _("Complete")
        ERROR = "error", _("Error")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    step = models.CharField(max_length=120, blank=True, help_text="What the job is doing now.")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # The Celery task that runs one job, by name, and the module that defines it: set by
    # each concrete model (the module is imported before sending, so the task is known).
    task_name: ClassVar[str] = ""
    task_module: ClassVar[str] = ""
    # Errors that are worth a retry of the whole job (a connection dropped); anything
    # else is a business error, recorded on the row.
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    class Meta:
        abstract = True

    # ------------------------------------------------------------------ lifecycle

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETE, self.Status.ERROR)

    def enqueue(self) -> None:
        """Send the job to its task once the creating transaction commits."""
        pk, model = self.pk, type(self)
        transaction.on_commit(lambda: model.send(pk))

    @classmethod
    def send(cls, pk: int) -> bool:
        """Send job `pk` to its task now; False (and the row marked never sent) when the broker is down."""
        from celery import current_app

        if cls.task_module:
            import_module(cls.task_module)
        # Marked first: an in-process (eager) run finishes before apply_async returns.
        cls.objects.filter(pk=pk).update(enqueued_at=timezone.now())
        if send_now(current_app.tasks[cls.task_name], [pk]):
            return True
        cls.objects.filter(pk=pk).update(enqueued_at=None)  # never sent: the sweeper sends it
        return False

    @classmethod
    def claim(cls, pk: int) -> bool:
        """Take the job: queued, or running under an expired lease. One UPDATE; False if someone else has it."""
        now = timezone.now()
        claimable = Q(status=cls.Status.QUEUED) | Q(status=cls.Status.RUNNING, lease_until__lt=now)
        return bool(
            cls.objects.filter(claimable, pk=pk).update(
                status=cls.Status.RUNNING,
                started_at=now,
                lease_until=now + dt.timedelta(seconds=lease_seconds()),
                attempts=models.F("attempts") + 1,
                error="",
            )
        )

    def progress_to(self, progress: int, step: str = "") -> None:
        """Record progress and renew the lease (call at least once per lease period)."""
        self.progress = max(0, min(100, int(progress)))
        self.step = step[:120]
        self.lease_until = timezone.now() + dt.timedelta(seconds=lease_seconds())
        type(self).objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
            progress=self.progress, step=self.step, lease_until=self.lease_until
        )
        pause = float(getattr(settings, "JOB_STEP_PAUSE_SECONDS", 0) or 0)
        if pause:  # fault-injection tests widen the window in which a worker can be killed
            import time

            time.sleep(pause)

    def finish(self, **fields: Any) -> None:
        now = timezone.now()
        values = {"status": self.Status.COMPLETE, "progress": 100, "step": "", "finished_at": now, "lease_until": None}
        values.update(fields)
        type(self).objects.filter(pk=self.pk).update(**values)
        for name, value in values.items():
            setattr(self, name, value)

    def fail(self, message: str) -> None:
        now = timezone.now()
        type(self).objects.filter(pk=self.pk).update(
            status=self.Status.ERROR, error=message[:4000], finished_at=now, lease_until=None
        )
        self.status, self.error, self.finished_at = self.Status.ERROR, message, now

    # ------------------------------------------------------------------ running

    @classmethod
    def execute(cls, pk: int, work: Callable[[Any], None]) -> bool:
        """Claim job `pk` and run `work(job)`; record a business error on the row. False if not claimed."""
        if not cls.claim(pk):
            logger.info("%s %s: taken or finished, nothing to do", cls.__name__, pk)
            return False
        job = cls.objects.get(pk=pk)
        try:
            work(job)
        except cls.transient_errors:
            # Give the row back so the retry (or the sweeper) can claim it at once.
            cls.objects.filter(pk=pk).update(status=cls.Status.QUEUED, lease_until=None)
            raise
        except JobError as exc:
            job.fail(str(exc))
        except Exception as exc:  # an unexpected bug: recorded on the row, then raised for the logs
            job.fail(f"{type(exc).__name__}: {exc}")
            raise
        return True

    @classmethod
    def lease_left(cls, pk: int) -> float | None:
        """Seconds until the lease of a running job ends (0 if it has ended); None if it is not running."""
        lease = cls.objects.filter(pk=pk, status=cls.Status.RUNNING).values_list("lease_until", flat=True).first()
        if lease is None:
            return None
        return max(0.0, (lease - timezone.now()).total_seconds())

    @classmethod
    def sweep(cls, *, now: dt.datetime | None = None) -> list[int]:
        """Re-enqueue jobs whose worker died (lease expired) or whose enqueue was lost; their ids."""
        now = now or timezone.now()
        lease = dt.timedelta(seconds=lease_seconds())
        lost = (
            Q(status=cls.Status.RUNNING, lease_until__lt=now)
            | Q(status=cls.Status.QUEUED, enqueued_at__isnull=True, created_at__lt=now - SEND_AGAIN_AFTER)
            # sent long ago and still waiting: the message may be gone (a broker restarted
            # without its data); sending again is harmless, the claim lets one run through
            | Q(status=cls.Status.QUEUED, enqueued_at__lt=now - 2 * lease)
        )
        ids = list(cls.objects.filter(lost).values_list("pk", flat=True)[:500])
        for pk in ids:  # rows committed long ago: sent now
            cls.send(pk)
        return ids


def run_job_task(task, model: type[Job], pk: int, run: Callable[[int], Any]) -> Any:
    """The body of a job's Celery task: `run(pk)` (the service, which claims the row and returns
    something falsy when it could not). When the row is held under a live lease, this message is
    a redelivery or a second send while another worker holds the job: it comes back when the
    lease ends (a Celery retry with that countdown) and takes the job over unless the holder
    renewed its lease or finished meanwhile. Bounded: a job lives at most the task time limit."""
    result = run(pk)
    if result:
        return result
    left = model.lease_left(pk)
    # Finished, failed, gone, or queued and left to its own message; in-process (no broker), the
    # caller is the only runner.
    if left is None or task.request.is_eager:
        return result
    limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 3600))
    raise task.retry(countdown=left + 1, max_retries=limit // lease_seconds() + 2)


class JobError(Exception):
    """A business error: the job cannot be done as asked (the message says why); not retried."""
