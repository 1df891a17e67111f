"""The audit log: one call that every service uses to record a step of a controlled workflow.

Recorded: every export (asked for and downloaded), every staff read of an identifiable record
(a registry profile, a programme participant, a survey response) and of a list of them (the
directory, the participants and at-risk lists, a wave's responses: `audit_list`), every change of who may do
what (role, staff and superuser flags, programmes, groups, permissions, programmes
themselves) and every sign-in, failed or not. The table is append-only: on PostgreSQL a
trigger refuses UPDATE and DELETE for every role the application connects as (migration
accounts 0005); rows keep the actor's id even after the account is gone.

Who acts is taken from the request being served (`AuditActorMiddleware`) when a change
arrives through a signal that does not know it (the admin's many-to-many edits).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model, Q, QuerySet

from .models import AuditEvent, User

_request: ContextVar[Any] = ContextVar("kelu_audit_request", default=None)


def audit_record(
    *, actor: User | None, action: str, target: Model, programme_id: int | None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Record that `actor` (None: the system) did `action` to `target`."""
    return _write(actor, action, f"{target._meta.label}:{target.pk}", programme_id, detail)


def _write(
    actor: User | None, action: str, label: str, programme_id: int | None, detail: dict[str, Any] | None
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    detail = dict(detail or {})
    request = _request.get()
    if request is not None and "address" not in detail:
        from .lockout import client_address  # the proxy-aware rule the lockout and throttles use

        detail["address"] = client_address(request)
    return AuditEvent.objects.create(actor=user, action=action, target=label, programme_id=programme_id, detail=detail)


def audit_read(*, viewer: User, record: Model, programme_id: int | None = None) -> None:
    """A member of staff (superuser, programme administrator, institution staff) opened an
    identifiable record; the record's own person and other members are not logged."""
    if _reads_as_staff(viewer):
        audit_record(actor=viewer, action=f"read.{record._meta.model_name}", target=record, programme_id=programme_id)


def _reads_as_staff(viewer: User) -> bool:
    from .models import Role

    return viewer.is_authenticated and (
        viewer.is_superuser or viewer.role in (Role.PROGRAMME_ADMIN, Role.INSTITUTION_STAFF)
    )


def audit_list(rows: QuerySet, *, viewer: User, query: dict[str, Any], programme_id: int | None = None) -> QuerySet:
    """`rows` as a list a member of staff is shown: each time a set of them is read from the
    database (a page, a slice, all of them) one `list.<model>` event records the filter, the
    number of rows read and their ids. Counting, `exists()` and aggregates read no one's record
    and record nothing. Others' reads (a respondent's own rows) return `rows` as they are.

    The selector that reads the list calls this, so every page, API view and export that starts
    from it is covered, and what is recorded is what was read: the page, not the filter's total."""
    if not _reads_as_staff(viewer):
        return rows
    audited = rows._chain()
    audited.__class__ = _audited_class(type(rows))
    # PostgreSQL's JSON cannot hold NUL: a filter carrying one is kept, with the NUL shown as U+FFFD.
    shown = {k: str(v).replace("\x00", "\ufffd") for k, v in query.items() if v not in ("", None)}
    audited._audit = {"viewer": viewer, "query": shown, "programme_id": programme_id}
    return audited


class _AuditedRows:
    """Mixed into a QuerySet class: the rows' first fetch from the database is recorded."""

    _audit: dict[str, Any] | None = None

    def _clone(self):
        clone = super()._clone()
        clone._audit = self._audit
        return clone

    def _fetch_all(self) -> None:
        fetched = self._result_cache is None
        super()._fetch_all()
        if fetched and self._audit is not None:
            ids = [row.pk for row in self._result_cache if isinstance(row, Model)]
            label = self.model._meta.label
            _write(self._audit["viewer"], f"list.{self.model._meta.model_name}", f"{label}:list",
                   self._audit["programme_id"],
                   {"query": self._audit["query"], "rows": len(self._result_cache), "ids": ids})  # fmt: skip


_AUDITED_CLASSES: dict[type, type] = {}


def _audited_class(base: type) -> type:
    if base not in _AUDITED_CLASSES:
        _AUDITED_CLASSES[base] = type(f"Audited{base.__name__}", (_AuditedRows, base), {})
    return _AUDITED_CLASSES[base]


def current_actor() -> User | None:
    request = _request.get()
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class AuditActorMiddleware:
    """Makes the request being served known to audit records made by signals."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def audit_by_actor(*, actor_id: int, since: datetime, until: datetime) -> QuerySet[AuditEvent]:
    """The breach drill's first question: everything one account did in [since, until), oldest
    first (the indexes of the actor and of the time)."""
    return AuditEvent.objects.filter(actor_id=actor_id, at__gte=since, at__lt=until).order_by("at", "id")


def audit_about(*, subject: str, since: datetime | None = None, until: datetime | None = None) -> QuerySet[AuditEvent]:
    """The breach drill's second question: every event about one record (`app.Model:id`),
    oldest first: the record acted on or read by itself, and the lists that showed it (their
    ids, index auditevent_list_ids on PostgreSQL)."""
    model_label, _, pk = subject.rpartition(":")
    if not model_label or not pk.isdecimal():
        raise ValueError(f"{subject!r} is not app.Model:id")
    events = AuditEvent.objects.all()
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    lists = events.filter(target=f"{model_label}:list")
    if connection.vendor == "postgresql":
        listed = Q(target=f"{model_label}:list", detail__ids__contains=[int(pk)])
    else:  # SQLite (the embedded mode) has no JSON containment: its small logs are read through
        listed = Q(pk__in=[e.pk for e in lists.only("pk", "detail").iterator() if int(pk) in e.detail.get("ids", [])])
    return events.filter(Q(target=subject) | listed).select_related("actor").order_by("at", "id")


def audit_trail(target: Model):
    """The events of one object, oldest first."""
    return (
        AuditEvent.objects.filter(target=f"{target._meta.label}:{target.pk}")
        .select_related("actor")
        .order_by("at", "id")
    )
