"""The breach drill: what one account accessed in a period, or who accessed one record.

    manage.py audit_trail --actor amina --since 2026-12-01T14:00 --until 2026-12-01T15:00
    manage.py audit_trail --subject diaspora.Person:42 [--since ...] [--until ...]

Times without a zone are in the platform's time zone (TIME_ZONE). Prints one line per event,
oldest first (a list's line names the records it showed), then a summary.
"""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.audit import audit_about, audit_by_actor
from accounts.models import AuditEvent, User


class Command(BaseCommand):
    help = "List the audit events of one account in a period (--actor), or of one record (--subject)."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--actor", help="a username or an account id")
        who.add_argument("--subject", help="a record, as app.Model:id (e.g. diaspora.Person:42)")
        parser.add_argument("--since", type=_moment, help="from this time (ISO 8601), included")
        parser.add_argument("--until", type=_moment, help="to this time (ISO 8601), excluded")

    def handle(self, *args, actor=None, subject=None, since=None, until=None, **options):
        if since and until and since >= until:
            raise CommandError("--since must come before --until.")
        if actor is not None:
            if since is None or until is None:
                raise CommandError("--actor needs --since and --until (the period to search).")
            events = list(audit_by_actor(actor_id=_account_id(actor), since=since, until=until))
        else:
            try:
                events = list(audit_about(subject=subject, since=since, until=until))
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        names = dict(User.objects.filter(pk__in={e.actor_id for e in events}).values_list("pk", "username"))
        for event in events:
            self.stdout.write(_line(event, names))
        actors = {e.actor_id for e in events}
        self.stdout.write(f"{len(events)} events by {len(actors)} account(s)")


def _moment(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None:
        raise ValueError(text)  # argparse reports "invalid _moment value"
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _account_id(actor: str) -> int:
    """A username, else an id (an account gone keeps its id in the log)."""
    found = User.objects.filter(username=actor).values_list("pk", flat=True).first()
    if found is not None:
        return found
    if actor.isdecimal():
        return int(actor)
    raise CommandError(f"No account named {actor!r}.")


def _line(event: AuditEvent, names: dict[int, str]) -> str:
    who = names.get(event.actor_id, f"#{event.actor_id}") if event.actor_id else "system"
    what = event.target
    if event.target.endswith(":list"):
        ids = ", ".join(str(i) for i in event.detail.get("ids", []))
        what = f"{event.target} ({event.detail.get('rows', 0)} rows: {ids})"
    address = event.detail.get("address", "")
    return f"{timezone.localtime(event.at).isoformat(timespec='seconds')}  {who}  {event.action}  {what}  {address}".rstrip()
