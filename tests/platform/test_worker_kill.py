"""Worker kill: a real prefork worker (concurrency 2) works through 1,000 tasks of the platform's
job kinds (survey exports, invitation batches with their letters, matching runs, aggregation
jobs, obligation recomputes) while its pool children, and then the whole worker, are SIGKILLed at random moments; it
is restarted, and every job finishes with its effect written once.

Effects are counted by their natural keys: an export's file on disk (named by its job), an
invitation batch's invitations and letters (unique per wave and respondent, per invitation and
sequence), the e-mails the sender handed to the mail backend (by Message-ID), a recompute's
status history (one row per participation, day and change), a run's or a job's row. A job not complete at the end is lost.

A control run does the same with Celery's plain settings (early acknowledgement, a killed
child's message acknowledged, kombu's default restore sweep) and must lose tasks: that is what
shows the settings in config/settings.py make the difference, and that this test can fail.

The worker reads those settings from the environment (CELERY_TASK_ACKS_LATE, ...); leases,
the visibility timeout and the restore sweep are short here so that both runs take seconds.
The random moments come from a seed printed with the figures (KELU_KILL_SEED replays one).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.models import Programme
from analytics.models import AggregationJob
from config import celery_app
from diaspora.models import MatchRun, ObligationRecompute, StatusChange
from diaspora.services.obligation_imports import participants_import
from surveys.demo import instruments_load
from surveys.models import ExportJob, Invitation, InvitationSendJob, OutgoingEmail, Panel, PanelMember, Respondent, Wave
from tests.analytics.waves import MARGIN_2019, official_loaded, wave_with_answers
from tests.diaspora.people import expert
from tests.surveys.test_invitations import version_import

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("export", "bulk", "analytics")  # where settings route these jobs (and the sender)
LEASE = 3  # seconds: a killed child's job is taken over this long after its last renewal
VISIBILITY = 6  # seconds: a whole killed worker's messages come back after this
MEMBERS = 3  # panel members invited by each invitation batch
# The settings under test (config/settings.py's defaults) and Celery's plain ones.
RELIABLE = {"CELERY_TASK_ACKS_LATE": "true", "CELERY_TASK_REJECT_ON_WORKER_LOST": "true",
            "CELERY_UNACKED_RESTORE_INTERVAL": "10", "CELERY_UNACKED_RESTORE_THROTTLE": "1"}  # fmt: skip
PLAIN = {"CELERY_TASK_ACKS_LATE": "false", "CELERY_TASK_REJECT_ON_WORKER_LOST": "false",
         "CELERY_UNACKED_RESTORE_INTERVAL": "10", "CELERY_UNACKED_RESTORE_THROTTLE": "10"}  # fmt: skip
JOB_KINDS = (ExportJob, InvitationSendJob, MatchRun, AggregationJob, ObligationRecompute)


@dataclass
class Batch:
    """The jobs of one run, by kind, and what was measured."""

    jobs: dict[type, list[int]] = field(default_factory=dict)
    invited_waves: list[int] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.jobs.values())

    def finished(self) -> int:
        return sum(
            model.objects.filter(pk__in=ids, status__in=[model.Status.COMPLETE, model.Status.ERROR]).count()
            for model, ids in self.jobs.items()
        )


# --------------------------------------------------------------------------- the worker


def start_worker(tmp_path: Path, mode: dict[str, str], name: str) -> subprocess.Popen:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        **mode,
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": f"{settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "JOB_LEASE_SECONDS": str(LEASE),
        "JOB_STEP_PAUSE_SECONDS": "0.02",  # a step takes a moment: kills land inside jobs too
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", ",".join(QUEUES),
               "--pool", "prefork", "--concurrency", "2", "--hostname", f"{name}@localhost",
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with open(tmp_path / "worker.log", "a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until(condition, seconds: float, tmp_path: Path, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{worker_log(tmp_path)}"
        time.sleep(0.1)


def worker_log(tmp_path: Path) -> str:
    path = tmp_path / "worker.log"
    return path.read_text()[-3000:] if path.exists() else ""


def answers(name: str) -> bool:
    return bool(celery_app.control.ping(destination=[f"{name}@localhost"], timeout=0.5))


def queued() -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return sum(client.llen(queue) for queue in QUEUES)


def broker_cleared() -> None:
    """This test's Redis database without queued or unacknowledged messages (of earlier runs)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*QUEUES, "unacked", "unacked_index", "unacked_mutex")


# --------------------------------------------------------------------------- the jobs


def jobs_made(
    world: dict, tag: str, *, exports: int, invitations: int, runs: int, aggregations: int, recomputes: int
) -> Batch:
    batch = Batch()
    wave = world["wave"]
    batch.jobs[ExportJob] = [
        job.pk
        for job in ExportJob.objects.bulk_create(
            ExportJob(wave=wave, format="csv", language=("en", "ru", "kk")[n % 3]) for n in range(exports)
        )
    ]
    waves = [
        Wave.objects.create(
            survey=wave.survey,
            version=wave.version,
            slug=f"{tag}-invite-{n}",
            name="Invited",
            panel=world["panel"],
            opens_at=timezone.now(),
            send_rate_per_minute=100_000,
            reminder_days=[],
        )  # fmt: skip
        for n in range(invitations)
    ]
    batch.invited_waves = [w.pk for w in waves]
    batch.jobs[InvitationSendJob] = [InvitationSendJob.objects.create(wave=w).pk for w in waves]
    batch.jobs[MatchRun] = [
        MatchRun.objects.create(kind=MatchRun.Kind.MANUAL, key=f"{tag}-run-{n}", programme=world["programme"]).pk
        for n in range(runs)
    ]
    # One job per wave, as aggregation_request keeps it (a wave's builds follow one another).
    batch.jobs[AggregationJob] = [
        AggregationJob.objects.create(wave=world["analysed"].pop()).pk for _ in range(aggregations)
    ]
    batch.jobs[ObligationRecompute] = [
        ObligationRecompute.objects.create(key=f"{tag}-recompute-{n}", on=timezone.localdate()).pk
        for n in range(recomputes)
    ]
    return batch


def send_all(batch: Batch, rng: random.Random) -> None:
    """Every job's task, in a shuffled order, to the queue settings route it to."""
    from analytics.tasks import aggregation_run
    from diaspora.tasks import matching_run, obligations_recompute_run
    from surveys.tasks import invitation_send_run
    from surveys.tasks_exports import export_build

    sends = [(export_build, "export", pk) for pk in batch.jobs[ExportJob]]
    sends += [(invitation_send_run, "bulk", pk) for pk in batch.jobs[InvitationSendJob]]
    sends += [(matching_run, "bulk", pk) for pk in batch.jobs[MatchRun]]
    sends += [(aggregation_run, "analytics", pk) for pk in batch.jobs[AggregationJob]]
    sends += [(obligations_recompute_run, "bulk", pk) for pk in batch.jobs[ObligationRecompute]]
    rng.shuffle(sends)
    for task, queue, pk in sends:
        task.apply_async(args=[pk], queue=queue)  # explicit: the app's router may be cached by other tests


# --------------------------------------------------------------------------- one run


def run_with_kills(tmp_path: Path, batch: Batch, mode: dict[str, str], rng: random.Random, settle: float) -> None:
    """Children killed at a random moment, then the whole worker; restarted; waited for (bounded)."""
    name = f"kill-{os.getpid()}-{rng.random():.6f}"
    kill_children_at = rng.randint(batch.total * 15 // 100, batch.total * 35 // 100)
    kill_worker_at = rng.randint(batch.total * 50 // 100, batch.total * 70 // 100)
    started = time.monotonic()
    worker = start_worker(tmp_path, mode, name)
    try:
        send_all(batch, rng)
        wait_until(lambda: batch.finished() >= kill_children_at, 120, tmp_path, "the first jobs")
        children = children_of(worker.pid)
        assert len(children) == 2, children
        kill(children)  # the parent sees its children die and starts new ones
        batch.figures["children_killed_after"] = batch.finished()
        wait_until(lambda: batch.finished() >= kill_worker_at, 120, tmp_path, "the jobs after the children's death")
        kill([worker.pid, *children_of(worker.pid)])
        worker.wait(timeout=30)
        batch.figures["worker_killed_after"] = batch.finished()
        restarted = time.monotonic()
        worker = start_worker(tmp_path, mode, name)
        wait_until(lambda: answers(name), 90, tmp_path, "the restarted worker")
        batch.figures["restarted_worker_ready_after"] = round(time.monotonic() - restarted, 1)
        # Until every job is finished, or (for a run that loses some) the queues are empty and
        # nothing has moved for `settle` seconds: what the broker still owes comes back by then.
        deadline = restarted + VISIBILITY + 120
        last, moved = -1, time.monotonic()
        while time.monotonic() < deadline:
            done = batch.finished()
            if done == batch.total:
                break
            if done != last or queued():
                last, moved = done, time.monotonic()
            elif time.monotonic() - moved > settle:
                break
            time.sleep(0.2)
        batch.figures["seconds_after_restart"] = round(time.monotonic() - restarted, 1)
        batch.figures["seconds_in_all"] = round(time.monotonic() - started, 1)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill([worker.pid, *children_of(worker.pid)])


def counted(batch: Batch, tmp_path: Path) -> dict[str, object]:
    """Lost jobs and duplicated effects, by kind, by their natural keys."""
    lost = {
        model.__name__: model.objects.filter(pk__in=ids).exclude(status=model.Status.COMPLETE).count()
        for model, ids in batch.jobs.items()
    }
    taken_over = {
        model.__name__: model.objects.filter(pk__in=ids, attempts__gt=1).count() for model, ids in batch.jobs.items()
    }
    # Export files: one per job, named by it (a second file for a job is a duplicated effect).
    files = Counter(
        int(match.group(1))
        for path in (tmp_path / "media").rglob("job-*")
        if (match := re.match(r"job-(\d+)-", path.name)) and int(match.group(1)) in set(batch.jobs[ExportJob])
    )
    complete = ExportJob.objects.filter(pk__in=batch.jobs[ExportJob], status=ExportJob.Status.COMPLETE)
    missing_files = sum(1 for job in complete if not job.file or not Path(job.file.path).exists())
    # Invitations and letters: one per (wave, respondent) and per (invitation, sequence).
    invitations = Invitation.objects.filter(wave_id__in=batch.invited_waves)
    letters = OutgoingEmail.objects.filter(invitation__wave_id__in=batch.invited_waves)
    letter_keys = Counter(letters.values_list("invitation_id", "sequence"))
    invite_keys = Counter(invitations.values_list("wave_id", "respondent_id"))
    # E-mails handed to the mail backend, by the Message-ID stamped on their row.
    stamps = set(letters.exclude(message_id="").values_list("message_id", flat=True))
    mailed = Counter(
        line.split(":", 1)[1].strip()
        for path in (tmp_path / "mail").glob("*")
        for line in path.read_text(errors="replace").splitlines()
        if line.lower().startswith("message-id:")
    )
    mailed = Counter({key: n for key, n in mailed.items() if key in stamps})
    # Obligation history: one row per status change of a participation on a day.
    history = Counter(StatusChange.objects.values_list("participation_id", "changed_on", "old_status", "new_status"))
    return {
        "tasks": batch.total,
        "lost": sum(lost.values()),
        "lost_by_kind": lost,
        "duplicated": (
            sum(n - 1 for n in files.values() if n > 1)
            + sum(n - 1 for n in invite_keys.values() if n > 1)
            + sum(n - 1 for n in letter_keys.values() if n > 1)
            + sum(n - 1 for n in mailed.values() if n > 1)
            + sum(n - 1 for n in history.values() if n > 1)
        ),
        "taken_over": taken_over,
        "export_files": sum(files.values()),
        "complete_exports_without_file": missing_files,
        "invitations": len(invite_keys),
        "letters": len(letter_keys),
        "emails_sent": len(mailed),
        # messages the broker still holds for a worker that vanished (they would come back later)
        "unacked_left": redis.Redis.from_url(settings.REDIS_URL).hlen("unacked"),
        **batch.figures,
    }


def participants_for_recomputes(programme) -> None:
    from tests.diaspora.test_obligations import HEADER, rule

    rule(programme)
    rows = "".join(f"K-{i},Scholar {i},,{2012 + i % 8},{2015 + i % 8}-06-30,GBR,Leeds,053\n" for i in range(40))
    participants_import(programme=programme, data=(HEADER + rows).encode(), filename="k.csv", user=None)


# --------------------------------------------------------------------------- the scenario


@pytest.mark.django_db(transaction=True)
def test_killed_workers_lose_no_task_and_duplicate_no_effect_and_plain_settings_do_lose(tmp_path, settings):
    seed = int(os.environ.get("KELU_KILL_SEED") or random.SystemRandom().randrange(1_000_000))
    rng = random.Random(seed)
    settings.MEDIA_ROOT = tmp_path / "media"
    official_loaded()
    version = instruments_load()[0]
    short = version_import()
    programme = Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]
    for n in range(3):
        expert(f"kill-expert-{n}", programmes=["bolashak"])
    participants_for_recomputes(programme)
    panel = Panel.objects.create(slug="kill-panel", name="Kill panel")
    for n in range(MEMBERS):
        PanelMember.objects.create(
            panel=panel, respondent=Respondent.objects.create(email=f"member{n}@example.kz"), language="ru"
        )
    world = {
        # Exports and invitations on a short form (many small jobs keep the run bounded).
        "wave": Wave.objects.create(survey=short.survey, version=short, slug="kill-exports", name="Short"),
        "analysed": [wave_with_answers(version, f"kill-analysed-{n}", 20, margins=[MARGIN_2019]) for n in range(6)],
        "panel": panel,
        "programme": programme,
    }
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        broker_cleared()
        reliable = jobs_made(world, "reliable", exports=906, invitations=50, runs=30, aggregations=4, recomputes=10)
        run_with_kills(tmp_path, reliable, RELIABLE, rng, settle=VISIBILITY + 20)
        under_test = counted(reliable, tmp_path)

        broker_cleared()
        plain = jobs_made(world, "plain", exports=130, invitations=8, runs=6, aggregations=2, recomputes=4)
        run_with_kills(tmp_path, plain, PLAIN, rng, settle=VISIBILITY + 4)
        control = counted(plain, tmp_path)
    finally:
        celery_app.conf.task_always_eager = eager
        broker_cleared()

    print(f"\nworker kill, seed {seed}\n  settings under test: {under_test}\n  plain settings:      {control}")
    assert under_test["lost"] == 0, (seed, under_test, worker_log(tmp_path))
    assert under_test["seconds_after_restart"] < VISIBILITY + 120  # all done within the bound (not a speed target)
    assert under_test["duplicated"] == 0 and under_test["complete_exports_without_file"] == 0, (seed, under_test)
    assert under_test["invitations"] == len(reliable.invited_waves) * MEMBERS
    assert under_test["letters"] == under_test["invitations"]  # one letter each (no reminders)
    # The control run: the tasks in flight when the children and the worker died are gone for good
    # (acknowledged before they ran), beyond what the broker still holds to give back later.
    assert control["lost"] > control["unacked_left"], (seed, control)
    assert control["duplicated"] == 0, (seed, control)
