"""Invitation fan-out: 100,000 invitations created and mailed, against baselines measured in the same run.

On PostgreSQL, with a local SMTP sink (aiosmtpd in its own process, counting messages):

- creation:  wave_invite (one invitation with its link token, plus its scheduled mail rows:
             the invitation and three reminders) against bulk_create of the same number
             of bare rows (bench.baseline.BaselineRow);
- sending:   emails_send_due (claim, stamp, render in the respondent's language, SMTP,
             mark sent, one row at a time as the crash rule needs) against raw smtplib
             sending as many messages of the same size over one connection.

Prints rows/s, mails/s, total time against the 10-minute target, and the ratios.

    .venv/bin/python bench/invitations.py                # 100,000 invitations
    .venv/bin/python bench/invitations.py --count 2000   # a quick run
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import socket
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 10 * 60
REMINDERS = [3, 7, 14]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kelu_bench").rsplit("/", 1)[0]
        + "/kelu_bench_invitations",
    )
    parser.add_argument("--senders", type=int, default=4, help="sender processes running emails_send_due at once")
    args = parser.parse_args()

    port = free_port()
    counter = multiprocessing.get_context("spawn").Value("q", 0)
    sink = multiprocessing.get_context("spawn").Process(target=run_sink, args=(port, counter), daemon=True)
    sink.start()
    wait_for_port(port)
    try:
        configure(args.database, port)
        results = measure(args, port, counter)
    finally:
        sink.terminate()
    report(results, args)


# --------------------------------------------------------------------------- the SMTP sink


def run_sink(port: int, counter) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 Message accepted for delivery"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


# --------------------------------------------------------------------------- set-up


def configure(database_url: str, port: int) -> None:
    from bench.submissions import recreate_database

    recreate_database(database_url)
    os.environ.pop("REDIS_URL", None)  # the throttle's counter in process memory; no broker needed
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        SITE_URL="https://kelu.example.kz",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def panel_wave(count: int):
    from surveys.demo import instruments_load
    from surveys.models import Panel, PanelMember, Respondent, Wave

    version = instruments_load()[0]
    languages = ("kk", "ru", "en")
    respondents = Respondent.objects.bulk_create(
        [
            Respondent(email=f"alumnus{n}@example.kz", name=f"Alumnus {n}", preferred_language=languages[n % 3])
            for n in range(count)
        ],
        batch_size=5000,
    )
    panel = Panel.objects.create(slug="bench", name="Bench panel")
    PanelMember.objects.bulk_create([PanelMember(panel=panel, respondent=r) for r in respondents], batch_size=5000)
    return Wave.objects.create(
        survey=version.survey,
        version=version,
        slug="bench-wave",
        name="Bench wave",
        panel=panel,
        reminder_days=REMINDERS,
        send_rate_per_minute=10**9,  # the throttle is not under test here
    )


# --------------------------------------------------------------------------- measurements


def measure(args, port: int, counter) -> dict:
    from django.db import connections

    from bench.baseline.models import BaselineRow
    from surveys.models import OutgoingEmail
    from surveys.services.invitations import wave_invite

    wave = panel_wave(args.count)
    results: dict = {"count": args.count}

    started = time.perf_counter()
    BaselineRow.objects.bulk_create(
        [BaselineRow(instance_id=uuid.uuid4(), payload={"n": n}) for n in range(args.count)], batch_size=1000
    )
    results["baseline_create"] = time.perf_counter() - started

    started = time.perf_counter()
    counts = wave_invite(wave=wave)
    results["create"] = time.perf_counter() - started
    results["rows"] = counts.invited + counts.emails
    assert counts.invited == args.count, counts

    size = len(sample_message(wave))
    started = time.perf_counter()
    raw_smtp(port, args.count, size)
    results["baseline_send"] = time.perf_counter() - started
    assert counter.value == args.count, f"the sink counted {counter.value} raw messages"
    counter.value = 0

    connections.close_all()  # every sender process opens its own
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    senders = [context.Process(target=send_all) for _ in range(args.senders)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    results["send"] = time.perf_counter() - started
    results["received"] = counter.value
    results["sent_rows"] = OutgoingEmail.objects.filter(sequence=0, status=OutgoingEmail.Status.SENT).count()
    results["size"] = size
    return results


def send_all() -> None:
    from surveys.services.invitations import emails_send_due

    emails_send_due()


def sample_message(wave) -> bytes:
    """The first invitation as the sender would build it, for the raw baseline's message size."""
    from django.core.mail import EmailMessage

    from surveys.emails import letter_render, wave_letter
    from surveys.models import Invitation
    from surveys.tokens import invitation_token

    invitation = Invitation.objects.select_related("respondent").filter(wave=wave).first()
    letter = letter_render(
        letter=wave_letter(templates={}, kind="invitation", language=invitation.language),
        language=invitation.language,
        name=invitation.respondent.name,
        survey=wave.survey.title,
        token=invitation_token(invitation.token_nonce),
        closes_at=None,
    )
    return EmailMessage(letter.subject, letter.body, to=[invitation.respondent.email]).message().as_bytes()


def raw_smtp(port: int, count: int, size: int) -> None:
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: baseline\r\n\r\n" + line * max((size - 21) // len(line), 1)
    with smtplib.SMTP("127.0.0.1", port) as server:
        for n in range(count):
            server.sendmail("kelu@localhost", [f"alumnus{n}@example.kz"], body)


# --------------------------------------------------------------------------- report


def report(results: dict, args) -> None:
    count = results["count"]
    total = results["create"] + results["send"]
    create_rate, base_create_rate = results["rows"] / results["create"], count / results["baseline_create"]
    send_rate, base_send_rate = count / results["send"], count / results["baseline_send"]
    lines = [
        f"Invitation fan-out: {count:,} invitations, {len(REMINDERS)} reminders each, "
        f"{args.senders} sender process(es), PostgreSQL, local SMTP sink ({results['size']:,}-byte messages)",
        "",
        f"{'step':<34}{'rows or mails':>14}{'seconds':>10}{'per second':>12}",
        f"{'baseline: bulk_create bare rows':<34}{count:>14,}{results['baseline_create']:>10.1f}"
        f"{base_create_rate:>12,.0f}",
        f"{'wave_invite (invitations + mail)':<34}{results['rows']:>14,}{results['create']:>10.1f}{create_rate:>12,.0f}",
        f"{'baseline: raw smtplib, 1 conn':<34}{count:>14,}{results['baseline_send']:>10.1f}{base_send_rate:>12,.0f}",
        f"{'emails_send_due (invitations)':<34}{count:>14,}{results['send']:>10.1f}{send_rate:>12,.0f}",
        "",
        f"ratio creation rows/s to baseline:  {create_rate / base_create_rate:.2f}",
        f"ratio mails/s to raw smtplib:       {send_rate / base_send_rate:.2f}",
        f"total (create + send):              {total:.1f} s; target {TARGET_SECONDS} s: "
        + ("met" if total <= TARGET_SECONDS else "MISSED"),
        f"delivered to the sink:              {results['received']:,} of {count:,}; rows marked sent: "
        f"{results['sent_rows']:,}" + ("" if results["received"] == results["sent_rows"] == count else "  MISMATCH"),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
