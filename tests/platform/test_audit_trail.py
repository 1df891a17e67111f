"""The breach drill on a small log: `manage.py audit_trail --actor` lists what one account
accessed in a period, `--subject` who accessed one record, alone or in a list."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuditEvent, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)


def _event(monkeypatch, minutes: int, **fields) -> AuditEvent:
    """An event written at T0 + minutes (the log's own clock is set, as the row is append-only)."""
    monkeypatch.setattr(timezone, "now", lambda: T0 + dt.timedelta(minutes=minutes))
    return AuditEvent.objects.create(**fields)


@pytest.fixture
def log(monkeypatch):
    amina = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    daniyar = UserFactory(username="daniyar", role=Role.INSTITUTION_STAFF)
    _event(monkeypatch, -5, actor=amina, action="read.person", target="diaspora.Person:7")  # before the hour
    _event(monkeypatch, 10, actor=amina, action="read.person", target="diaspora.Person:42")
    _event(monkeypatch, 20, actor=amina, action="list.person", target="diaspora.Person:list",
           detail={"query": {"skill": "gis"}, "rows": 2, "ids": [42, 43]})  # fmt: skip
    _event(monkeypatch, 30, actor=daniyar, action="list.person", target="diaspora.Person:list",
           detail={"rows": 1, "ids": [43]})  # fmt: skip
    _event(
        monkeypatch,
        40,
        actor=daniyar,
        action="list.participation",
        target="diaspora.Participation:list",
        detail={"rows": 1, "ids": [42]},
    )  # fmt: skip  (another model's record 42)
    _event(monkeypatch, 65, actor=amina, action="read.response", target="surveys.Response:3")  # after the hour
    monkeypatch.undo()
    return {"amina": amina, "daniyar": daniyar}


def _run(*args: str) -> list[str]:
    out = StringIO()
    call_command("audit_trail", *args, stdout=out)
    return out.getvalue().splitlines()


def test_an_actors_hour_lists_exactly_their_events_in_it(log):
    lines = _run("--actor", "amina", "--since", "2026-12-01T14:00:00+00:00", "--until", "2026-12-01T15:00:00+00:00")
    assert len(lines) == 3 and lines[-1] == "2 events by 1 account(s)"
    assert "read.person  diaspora.Person:42" in lines[0]
    assert "list.person  diaspora.Person:list (2 rows: 42, 43)" in lines[1]
    assert lines[0].startswith("2026-12-01T19:10:00+05:00  amina")  # shown in the platform's time zone


def test_an_actor_may_be_named_by_id_and_times_without_a_zone_are_local(log):
    lines = _run("--actor", str(log["daniyar"].pk), "--since", "2026-12-01T19:00", "--until", "2026-12-01T20:00")
    assert lines[-1] == "2 events by 1 account(s)"


def test_a_subject_lists_everyone_who_read_it_alone_or_in_a_list(log):
    lines = _run("--subject", "diaspora.Person:42")
    assert lines[-1] == "2 events by 1 account(s)"
    assert "read.person  diaspora.Person:42" in lines[0] and "list.person" in lines[1]
    seen_in_lists = _run("--subject", "diaspora.Person:43")
    assert seen_in_lists[-1] == "2 events by 2 account(s)"
    outside = _run("--subject", "diaspora.Person:42", "--since", "2026-12-01T14:15:00+00:00")
    assert outside[-1] == "1 events by 1 account(s)"


def test_bad_questions_are_refused_with_a_reason(log):
    with pytest.raises(CommandError, match="needs --since and --until"):
        _run("--actor", "amina")
    with pytest.raises(CommandError, match="No account named"):
        _run("--actor", "nobody", "--since", "2026-12-01T14:00", "--until", "2026-12-01T15:00")
    with pytest.raises(CommandError, match="is not app.Model:id"):
        _run("--subject", "Person 42")
    with pytest.raises(CommandError, match="must come before"):
        _run("--subject", "diaspora.Person:42", "--since", "2026-12-01T15:00", "--until", "2026-12-01T14:00")
