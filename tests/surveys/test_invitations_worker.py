"""A real Celery worker killed in the middle of a mailing: nobody gets a message twice.

The SMTP server stops answering after the 120th message has been received (it
keeps the message, as a real server that accepted it would, but the worker
never hears "250"), and the worker is killed there: the one window in which
the server may have a message the database does not know was sent. A second
worker then finishes the mailing after the sweeper has run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings

from surveys import tasks
from surveys.models import OutgoingEmail, Panel, PanelMember, Respondent
from surveys.services.invitations import emails_sweep_stale, wave_invite
from tests.surveys.test_invitations import Mailbox, free_port, make_wave, version_import

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 300
STALL_AT = 120
Status = OutgoingEmail.Status


class StallingMailbox(Mailbox):
    def __init__(self, stall_at: int):
        super().__init__()
        self.stall_at = stall_at

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.stall_at:
            await asyncio.sleep(3600)  # received, never confirmed
        return reply


def start_worker(queue: str, port: int, log_path: Path) -> subprocess.Popen:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": f"{settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "60",
        "INVITATION_SEND_BATCH": "50",
        "SECRET_KEY": settings.SECRET_KEY,
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", queue, "--pool", "solo"]
    command += ["--hostname", f"{queue}@localhost", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    with open(log_path, "a") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(condition, seconds: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{log_path.read_text()[-3000:]}"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_nobody_the_same_message_twice(tmp_path):
    version = version_import()
    panel = Panel.objects.create(slug="kill-test", name="Kill test")
    respondents = Respondent.objects.bulk_create([Respondent(email=f"r{n}@example.kz") for n in range(MEMBERS)])
    PanelMember.objects.bulk_create([PanelMember(panel=panel, respondent=r, language="ru") for r in respondents])
    wave = make_wave(version, panel, send_rate_per_minute=100_000, reminder_days=[])
    assert wave_invite(wave=wave).invited == MEMBERS

    mailbox = StallingMailbox(STALL_AT)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    queue = f"kelu-kill-test-{os.getpid()}"
    log_path = tmp_path / "workers.log"
    try:
        first = start_worker(queue, controller.port, log_path)
        try:
            tasks.emails_send_due.apply_async(queue=queue)
            wait_for(lambda: len(mailbox.messages) >= STALL_AT, 60, "the first worker to send", log_path)
            time.sleep(0.2)  # the worker is now waiting for the server's answer
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)

        in_flight = OutgoingEmail.objects.filter(status=Status.SENDING).exclude(message_id="")
        assert in_flight.count() == 1
        assert OutgoingEmail.objects.filter(status=Status.SENT).count() == STALL_AT - 1
        swept = emails_sweep_stale(older_than=timedelta(0))
        assert swept.failed == 1 and swept.returned > 0

        mailbox.stall_at = 0
        second = start_worker(queue, controller.port, log_path)
        try:
            tasks.emails_send_due.apply_async(queue=queue)
            unfinished = OutgoingEmail.objects.filter(status__in=[Status.PENDING, Status.SENDING])
            wait_for(lambda: not unfinished.exists(), 60, "the second worker to finish", log_path)
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        controller.stop()
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)

    received = Counter(message["To"] for message in mailbox.messages)
    assert received.most_common(1)[0][1] == 1, "someone got the same message twice"
    assert len(received) == MEMBERS
    rows = OutgoingEmail.objects.all()
    assert Counter(rows.values_list("status", flat=True)) == {Status.SENT: MEMBERS - 1, Status.FAILED: 1}
    held = rows.get(status=Status.FAILED)
    assert "may or may not have been delivered" in held.last_error
    # The held message did reach the server: an administrator checking its log finds it.
    assert held.message_id in {message["Message-ID"] for message in mailbox.messages}
